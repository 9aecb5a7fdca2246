-- A backlog of records never completed, on the overdue-report dataset (after
-- bench/overdue-sqlite.sql), for PERFORMANCE.md (issue 3, twenty-fourth round): one in
-- ten sign-ups of every shift of the two years (volunteer number ending in 3) has no
-- record, and housekeeping has flagged every shift that became overdue (as
-- `flag_overdue` does). The shifts' counts of sign-ups owed a record follow the updates
-- (migration 0028's triggers).
-- sqlite3 o.db < bench/overdue-backlog-sqlite.sql
PRAGMA foreign_keys=OFF;
BEGIN;
DELETE FROM service_records WHERE volunteer_id % 10 = 3;
UPDATE signups SET recorded = 0 WHERE volunteer_id % 10 = 3;
-- now = 2026-12-04; overdue at the earliest ten days after the end.
UPDATE shifts SET overdue_flagged = 1 WHERE ends_at < 1796342400000000 - 10 * 86400000000;
COMMIT;
ANALYZE;
