-- The tamper-evident ledger (issue 4). An entry is written in the same transaction as
-- the change it certifies; the sequencer later gives it its leaf index (seq) and writes
-- the tiles and the tree. The salt is secret: the public log carries only commitments.
CREATE TABLE ledger_entries (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       SMALLINT    NOT NULL,
    subject_id BIGINT      NOT NULL,
    salt       BYTEA       NOT NULL,
    commitment BYTEA       NOT NULL,
    seq        BIGINT UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX ledger_entries_subject ON ledger_entries (kind, subject_id);
CREATE INDEX ledger_entries_pending ON ledger_entries (id) WHERE seq IS NULL;

-- C2SP tlog-tiles: up to 256 concatenated hashes; edge tiles are rewritten as they grow.
CREATE TABLE ledger_tiles (
    level  SMALLINT NOT NULL,
    idx    BIGINT   NOT NULL,
    hashes BYTEA    NOT NULL,
    PRIMARY KEY (level, idx)
);

-- The tree as last integrated (one row).
CREATE TABLE ledger_tree (
    id   SMALLINT PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    root BYTEA  NOT NULL
);
INSERT INTO ledger_tree (id, size, root)
VALUES (1, 0, '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

CREATE TABLE ledger_checkpoints (
    size      BIGINT PRIMARY KEY,
    root      BYTEA       NOT NULL,
    note      TEXT        NOT NULL,
    signed_at TIMESTAMPTZ NOT NULL
);
