-- The tamper-evident ledger (issue 4). An entry is written in the same transaction as
-- the change it certifies; the sequencer later gives it its leaf index (seq) and writes
-- the tiles and the tree. The salt is secret: the public log carries only commitments.
CREATE TABLE ledger_entries (
    id         INTEGER PRIMARY KEY,
    kind       INTEGER NOT NULL,
    subject_id INTEGER NOT NULL,
    salt       BLOB    NOT NULL,
    commitment BLOB    NOT NULL,
    seq        INTEGER UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX ledger_entries_subject ON ledger_entries (kind, subject_id);
CREATE INDEX ledger_entries_pending ON ledger_entries (id) WHERE seq IS NULL;

-- C2SP tlog-tiles: up to 256 concatenated hashes; edge tiles are rewritten as they grow.
CREATE TABLE ledger_tiles (
    level  INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    hashes BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

-- The tree as last integrated (one row).
CREATE TABLE ledger_tree (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL,
    root BLOB    NOT NULL
) STRICT;
INSERT INTO ledger_tree (id, size, root)
VALUES (1, 0, x'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

CREATE TABLE ledger_checkpoints (
    size      INTEGER PRIMARY KEY,
    root      BLOB    NOT NULL,
    note      TEXT    NOT NULL,
    signed_at INTEGER NOT NULL
) STRICT;
