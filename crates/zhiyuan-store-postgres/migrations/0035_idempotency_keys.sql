-- Requests sent with an Idempotency-Key and what they answered, so that a retry gets the
-- answer again instead of doing the thing twice. `scope` is a digest of the caller's
-- credentials, `key` a digest of the client's key, `body` the answer encrypted under a
-- key derived from the client's (never kept), `status` NULL while the request runs.
-- Kept for a day (housekeeping purges older ones by `started_at`).
CREATE TABLE idempotency_keys (
    scope       BYTEA       NOT NULL,
    key         TEXT        NOT NULL,
    fingerprint BYTEA       NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    status      INTEGER,
    headers     JSONB,
    body        BYTEA,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_started ON idempotency_keys (started_at);
