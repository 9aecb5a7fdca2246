-- A kept request is known by its key alone: the key's id is a digest over the caller's
-- scope and the client's key (zhiyuan_service::idempotency), so the `scope` column beside
-- it (0035) only repeated what the id already tells. Rows in flight are kept.
ALTER TABLE idempotency_keys DROP COLUMN scope;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (key);
