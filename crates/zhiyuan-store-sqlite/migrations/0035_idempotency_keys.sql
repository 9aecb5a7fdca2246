-- Requests sent with an Idempotency-Key and what they answered, so that a retry gets the
-- answer again instead of doing the thing twice. `scope` is a digest of the caller's
-- credentials, `key` a digest of the client's key, `body` the answer encrypted under a
-- key derived from the client's (never kept), `status` NULL while the request runs.
-- Kept for a day (housekeeping purges older ones by `started_at`).
CREATE TABLE idempotency_keys (
    scope       BLOB    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint BLOB    NOT NULL,
    started_at  INTEGER NOT NULL,
    status      INTEGER,
    headers     TEXT,
    body        BLOB,
    PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_keys_started ON idempotency_keys (started_at);
