-- Art. 11 reports list shifts whose accepted volunteers still lack an effective record.
-- A sign-up now says whether its volunteer has an effective, current record of its shift,
-- kept by triggers in the transaction of each write, so that the reports read the
-- accepted sign-ups still unrecorded (two small partial indexes) instead of every shift
-- that ever ended and every sign-up and record of it. The flag is about records only: a
-- sign-up's status may change freely, and the indexes' condition follows it.
ALTER TABLE signups ADD COLUMN recorded BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE signups s SET recorded = TRUE WHERE EXISTS (
    SELECT 1 FROM service_records r
    WHERE r.shift_id = s.shift_id AND r.volunteer_id = s.volunteer_id
      AND r.is_current AND r.status = 'effective');
-- A jurisdiction's report, oldest first; a team's, from its shifts.
CREATE INDEX signups_unrecorded ON signups (ends_at, shift_id)
    WHERE status = 'accepted' AND NOT recorded;
CREATE INDEX signups_unrecorded_shift ON signups (shift_id)
    WHERE status = 'accepted' AND NOT recorded;

-- Whether any record of (shift, volunteer) is effective and current, written to its
-- sign-up. Called for a record that became, or stopped being, effective and current (a
-- decision, a correction's new version), and for a sign-up written after a record of its
-- volunteer on its shift (no path of the service does that today; the trigger keeps the
-- flag true whatever the order of writes).
-- A sign-up whose flag is already right is not written.
CREATE FUNCTION mark_signup_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    is_recorded BOOLEAN := EXISTS (
        SELECT 1 FROM service_records r
        WHERE r.shift_id = NEW.shift_id AND r.volunteer_id = NEW.volunteer_id
          AND r.is_current AND r.status = 'effective');
BEGIN
    UPDATE signups SET recorded = is_recorded
    WHERE shift_id = NEW.shift_id AND volunteer_id = NEW.volunteer_id
      AND recorded <> is_recorded;
    RETURN NULL;
END;
$$;
CREATE TRIGGER records_mark_signup AFTER INSERT ON service_records FOR EACH ROW
WHEN (NEW.shift_id IS NOT NULL AND NEW.is_current AND NEW.status = 'effective')
EXECUTE FUNCTION mark_signup_recorded();
CREATE TRIGGER records_remark_signup AFTER UPDATE OF is_current, status ON service_records
FOR EACH ROW
WHEN (NEW.shift_id IS NOT NULL
  AND (OLD.is_current AND OLD.status = 'effective')
      IS DISTINCT FROM (NEW.is_current AND NEW.status = 'effective'))
EXECUTE FUNCTION mark_signup_recorded();
CREATE TRIGGER signups_recorded AFTER INSERT ON signups FOR EACH ROW
EXECUTE FUNCTION mark_signup_recorded();
