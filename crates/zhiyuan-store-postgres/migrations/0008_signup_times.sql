-- A sign-up carries its shift's times, so that a volunteer's sign-ups in a time window
-- (overlap warnings, the schedule) are found through an index instead of by visiting
-- every sign-up they ever made. Shift changes update them in the same transaction.
-- The new index also serves listing by volunteer, which the old one did.
ALTER TABLE signups ADD COLUMN starts_at TIMESTAMPTZ, ADD COLUMN ends_at TIMESTAMPTZ;
UPDATE signups s SET starts_at = sh.starts_at, ends_at = sh.ends_at
    FROM shifts sh WHERE sh.id = s.shift_id;
ALTER TABLE signups ALTER COLUMN starts_at SET NOT NULL, ALTER COLUMN ends_at SET NOT NULL;
CREATE INDEX signups_volunteer_time ON signups (volunteer_id, ends_at);
DROP INDEX signups_volunteer;
