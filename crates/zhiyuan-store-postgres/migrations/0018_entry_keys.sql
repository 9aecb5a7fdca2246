-- Uploaded rows' dedupe keys begin with the date and the team (`batch:2026-11-05:7:`),
-- followed by 32 of the 64 hex digits keys had before: an upload then writes to one end
-- of the key index, not all over it. Keys stored before are rewritten the same way, so
-- re-uploading a file uploaded before this migration still adds nothing twice. (The key
-- is the upload's own bookkeeping: it is not a fact of the record, nor in its ledger
-- entry.) Keys of another shape, such as those clients give the records API, are left.
UPDATE service_records
SET dedupe_key = 'batch:' || to_char(service_date, 'YYYY-MM-DD') || ':' || org_id || ':'
    || substr(dedupe_key, 7, 32)
WHERE dedupe_key ~ '^batch:[0-9a-f]{64}$';
