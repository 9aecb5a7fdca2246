-- A backlog of records never completed, on the overdue-report dataset (after
-- bench/overdue-postgres.sql), for PERFORMANCE.md (issue 3, twenty-fourth round): one in
-- ten sign-ups of every shift of the two years (volunteer number ending in 3) has no
-- record, and housekeeping has flagged every shift that became overdue, with its sign-ups
-- owed a record (as `flag_overdue` and migration 0026 do).
-- psql -h 127.0.0.1 -U postgres zov -f bench/overdue-backlog-postgres.sql
BEGIN;
DELETE FROM service_records WHERE volunteer_id % 10 = 3;
UPDATE signups SET recorded = FALSE WHERE volunteer_id % 10 = 3;
UPDATE shifts SET overdue_flagged = TRUE
WHERE ends_at < timestamptz '2026-12-04 00:00:00+00' - interval '10 days';
UPDATE signups s SET overdue_flagged = TRUE
FROM shifts sh
WHERE s.status = 'accepted' AND NOT s.recorded AND sh.id = s.shift_id AND sh.overdue_flagged;
COMMIT;
VACUUM ANALYZE;
