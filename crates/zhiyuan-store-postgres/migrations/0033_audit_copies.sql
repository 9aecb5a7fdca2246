-- A change that moves its subject between jurisdictions is filed once under each of them
-- (AuditEntry::in_each), so that each one's auditors see it. The entries after the first
-- are copies: each names the region of the first here. A trail shows a copy only when the
-- first is outside it, so a province sees such a change once, as does the subject's own
-- trail. NULL for every entry that is not a copy; no backfill (entries written before
-- this migration show as they did).
ALTER TABLE audit_log ADD COLUMN copy_of_region BIGINT;
