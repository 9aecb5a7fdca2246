-- A kept request is known by its key alone: the key's id is a digest over the caller's
-- scope and the client's key (zhiyuan_service::idempotency), so the `scope` column beside
-- it (0035) only repeated what the id already tells. Rows in flight are kept.
CREATE TABLE idempotency_keys_by_key (
    key         TEXT    PRIMARY KEY,
    fingerprint BLOB    NOT NULL,
    started_at  INTEGER NOT NULL,
    status      INTEGER,
    headers     TEXT,
    body        BLOB
) STRICT, WITHOUT ROWID;
INSERT INTO idempotency_keys_by_key (key, fingerprint, started_at, status, headers, body)
SELECT key, fingerprint, started_at, status, headers, body FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_by_key RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_started ON idempotency_keys (started_at);
