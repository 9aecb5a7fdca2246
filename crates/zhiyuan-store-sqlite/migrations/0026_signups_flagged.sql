-- Housekeeping flags a shift once when its records become overdue (0021). It found the
-- shifts not yet flagged by walking the sign-ups still owed a record, oldest first, and
-- dropping those of shifts flagged already: the owed sign-ups of every shift ever
-- flagged, read again on every run, a number that only grows. A sign-up now says that
-- its shift was flagged while it was owed a record, and the walk reads a partial index
-- of the owed sign-ups not yet flagged, which holds the recent ones only.
ALTER TABLE signups ADD COLUMN overdue_flagged INTEGER NOT NULL DEFAULT 0;
-- The sign-ups already flagged with their shift: only those still owed a record matter.
UPDATE signups SET overdue_flagged = 1
WHERE status = 'accepted' AND recorded = 0
  AND shift_id IN (SELECT id FROM shifts WHERE overdue_flagged = 1);
-- SQLite reads the columns of a partial index's `column = constant` terms from the
-- condition, not the table, down one level of AND on either side only: the parentheses
-- keep all three within reach, so the walk never reads the table.
CREATE INDEX signups_unflagged ON signups (ends_at, shift_id)
    WHERE status = 'accepted' AND (recorded = 0 AND overdue_flagged = 0);
