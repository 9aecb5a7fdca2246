-- A sign-up carries its shift's times, so that a volunteer's sign-ups in a time window
-- (overlap warnings, the schedule) are found through an index instead of by visiting
-- every sign-up they ever made. Shift changes update them in the same transaction.
-- The new index also serves listing by volunteer, which the old one did.
ALTER TABLE signups ADD COLUMN starts_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signups ADD COLUMN ends_at INTEGER NOT NULL DEFAULT 0;
UPDATE signups SET
    starts_at = (SELECT starts_at FROM shifts WHERE shifts.id = signups.shift_id),
    ends_at = (SELECT ends_at FROM shifts WHERE shifts.id = signups.shift_id);
CREATE INDEX signups_volunteer_time ON signups (volunteer_id, ends_at);
DROP INDEX signups_volunteer;
