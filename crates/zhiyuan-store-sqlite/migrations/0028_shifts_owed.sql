-- Art. 11 reports and housekeeping found the shifts owed records through three partial
-- indexes over the sign-ups owed one (0020, 0026). Every accepted sign-up entered all
-- three when it was made, months before its shift could owe anything, each entry on a
-- page of its own: half the index pages a sign-up wrote (PERFORMANCE.md, issue 3's
-- twenty-sixth round). A shift now counts its sign-ups owed a record (accepted, not
-- recorded), kept by triggers whatever changes a sign-up's status or its `recorded`
-- flag, and says whether it owes any (`owing`), which changes only when that count
-- leaves or reaches zero: twice in most shifts' lives. The reports and housekeeping
-- read partial indexes over the owing shifts. The one writer makes the shared count
-- free here; PostgreSQL keeps its indexes over sign-ups (its 0028 says why).
ALTER TABLE shifts ADD COLUMN owed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shifts ADD COLUMN owing INTEGER NOT NULL DEFAULT 0;
UPDATE shifts SET owed = (
    SELECT count(*) FROM signups s
    WHERE s.shift_id = shifts.id AND s.status = 'accepted' AND s.recorded = 0);
UPDATE shifts SET owing = 1 WHERE owed > 0;

DROP INDEX signups_unrecorded;
DROP INDEX signups_unrecorded_shift;
DROP INDEX signups_unflagged;
ALTER TABLE signups DROP COLUMN overdue_flagged;

-- A jurisdiction's report, oldest first; a team's, from its projects; housekeeping's
-- walk, of the shifts not yet flagged. (The column = constant terms are read from the
-- condition, not the table, within one level of AND: hence the parentheses, as in 0026.)
CREATE INDEX shifts_owing ON shifts (ends_at, id) WHERE owing = 1 AND cancelled = 0;
CREATE INDEX shifts_owing_project ON shifts (project_id) WHERE owing = 1 AND cancelled = 0;
CREATE INDEX shifts_unflagged ON shifts (ends_at, id)
    WHERE owing = 1 AND (cancelled = 0 AND overdue_flagged = 0);

CREATE TRIGGER signups_owed_insert AFTER INSERT ON signups
WHEN NEW.status = 'accepted' AND NEW.recorded = 0
BEGIN
    UPDATE shifts SET owed = owed + 1 WHERE id = NEW.shift_id;
END;
CREATE TRIGGER signups_owed_update AFTER UPDATE OF status, recorded ON signups
WHEN (OLD.status = 'accepted' AND OLD.recorded = 0)
  <> (NEW.status = 'accepted' AND NEW.recorded = 0)
BEGIN
    UPDATE shifts
    SET owed = owed + CASE WHEN NEW.status = 'accepted' AND NEW.recorded = 0 THEN 1 ELSE -1 END
    WHERE id = NEW.shift_id;
END;
CREATE TRIGGER signups_owed_delete AFTER DELETE ON signups
WHEN OLD.status = 'accepted' AND OLD.recorded = 0
BEGIN
    UPDATE shifts SET owed = owed - 1 WHERE id = OLD.shift_id;
END;
CREATE TRIGGER shifts_owing AFTER UPDATE OF owed ON shifts
WHEN (OLD.owed > 0) <> (NEW.owed > 0)
BEGIN
    UPDATE shifts SET owing = NEW.owed > 0 WHERE id = NEW.id;
END;
