-- Housekeeping flags a shift once when its records become overdue (0021). It found the
-- shifts not yet flagged by walking the sign-ups still owed a record, oldest first, and
-- dropping those of shifts flagged already: the owed sign-ups of every shift ever
-- flagged, read again on every run, a number that only grows. A sign-up now says that
-- its shift was flagged while it was owed a record, and the walk reads a partial index
-- of the owed sign-ups not yet flagged, which holds the recent ones only.
--
-- The column is added false (without rewriting the table), and only the sign-ups of
-- flagged shifts still owed a record are written.
ALTER TABLE signups ADD COLUMN overdue_flagged BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE signups s SET overdue_flagged = TRUE
FROM shifts sh
WHERE s.status = 'accepted' AND NOT s.recorded
  AND sh.id = s.shift_id AND sh.overdue_flagged;
CREATE INDEX signups_unflagged ON signups (ends_at, shift_id)
    WHERE status = 'accepted' AND NOT recorded AND NOT overdue_flagged;
