-- Art. 11 reports list shifts whose accepted volunteers still lack an effective record.
-- A sign-up now says whether its volunteer has an effective, current record of its shift,
-- kept by triggers in the transaction of each write, so that the reports read the
-- accepted sign-ups still unrecorded (two small partial indexes) instead of every shift
-- that ever ended and every sign-up and record of it. The flag is about records only: a
-- sign-up's status may change freely, and the indexes' condition follows it.
ALTER TABLE signups ADD COLUMN recorded INTEGER NOT NULL DEFAULT 0;
UPDATE signups SET recorded = 1 WHERE EXISTS (
    SELECT 1 FROM service_records r
    WHERE r.shift_id = signups.shift_id AND r.volunteer_id = signups.volunteer_id
      AND r.is_current = 1 AND r.status = 'effective');
-- A jurisdiction's report, oldest first; a team's, from its shifts.
CREATE INDEX signups_unrecorded ON signups (ends_at, shift_id)
    WHERE status = 'accepted' AND recorded = 0;
CREATE INDEX signups_unrecorded_shift ON signups (shift_id)
    WHERE status = 'accepted' AND recorded = 0;

-- A record that becomes effective and current marks its volunteer's sign-up.
CREATE TRIGGER records_mark_signup AFTER INSERT ON service_records
WHEN NEW.shift_id IS NOT NULL AND NEW.is_current = 1 AND NEW.status = 'effective'
BEGIN
    UPDATE signups SET recorded = 1
    WHERE shift_id = NEW.shift_id AND volunteer_id = NEW.volunteer_id AND recorded = 0;
END;
-- A record that stops or starts being effective and current (a decision, a correction's
-- new version) asks again whether any record of the sign-up is.
CREATE TRIGGER records_remark_signup AFTER UPDATE OF is_current, status ON service_records
WHEN NEW.shift_id IS NOT NULL
 AND (OLD.is_current = 1 AND OLD.status = 'effective')
  <> (NEW.is_current = 1 AND NEW.status = 'effective')
BEGIN
    UPDATE signups SET recorded = EXISTS (
        SELECT 1 FROM service_records r
        WHERE r.shift_id = NEW.shift_id AND r.volunteer_id = NEW.volunteer_id
          AND r.is_current = 1 AND r.status = 'effective')
    WHERE shift_id = NEW.shift_id AND volunteer_id = NEW.volunteer_id;
END;
-- A sign-up written after a record of its volunteer on its shift. No path of the service
-- does that today; the trigger keeps the flag true whatever the order of writes.
CREATE TRIGGER signups_recorded AFTER INSERT ON signups
WHEN EXISTS (
    SELECT 1 FROM service_records r
    WHERE r.shift_id = NEW.shift_id AND r.volunteer_id = NEW.volunteer_id
      AND r.is_current = 1 AND r.status = 'effective')
BEGIN
    UPDATE signups SET recorded = 1 WHERE id = NEW.id;
END;
