-- Art. 11 reports list shifts whose accepted volunteers still lack an effective record.
-- A sign-up now says whether its volunteer has an effective, current record of its shift,
-- kept by triggers in the transaction of each write, so that the reports read the
-- accepted sign-ups still unrecorded (two small partial indexes) instead of every shift
-- that ever ended and every sign-up and record of it. The flag is about records only: a
-- sign-up's status may change freely, and the indexes' condition follows it.
--
-- Most sign-ups of the past were recorded, so the column is added true (without
-- rewriting the table) and only those without a record are written.
ALTER TABLE signups ADD COLUMN recorded BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE signups s SET recorded = FALSE WHERE NOT EXISTS (
    SELECT 1 FROM service_records r
    WHERE r.shift_id = s.shift_id AND r.volunteer_id = s.volunteer_id
      AND r.is_current AND r.status = 'effective');
ALTER TABLE signups ALTER COLUMN recorded SET DEFAULT FALSE;
-- A jurisdiction's report, oldest first; a team's, from its shifts.
CREATE INDEX signups_unrecorded ON signups (ends_at, shift_id)
    WHERE status = 'accepted' AND NOT recorded;
CREATE INDEX signups_unrecorded_shift ON signups (shift_id)
    WHERE status = 'accepted' AND NOT recorded;

-- Whether any record of (shift, volunteer) is effective and current.
CREATE FUNCTION has_effective_record(shift BIGINT, volunteer BIGINT) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM service_records r
        WHERE r.shift_id = shift AND r.volunteer_id = volunteer
          AND r.is_current AND r.status = 'effective')
$$;

-- A record that is effective and current marks its volunteer's sign-up.
CREATE FUNCTION mark_signup_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE signups SET recorded = TRUE
    WHERE shift_id = NEW.shift_id AND volunteer_id = NEW.volunteer_id AND NOT recorded;
    RETURN NULL;
END;
$$;
CREATE TRIGGER records_mark_signup AFTER INSERT ON service_records FOR EACH ROW
WHEN (NEW.shift_id IS NOT NULL AND NEW.is_current AND NEW.status = 'effective')
EXECUTE FUNCTION mark_signup_recorded();
-- A record that became, or stopped being, effective and current (a decision, a
-- correction's new version) writes the answer to its sign-up, if it changed.
CREATE FUNCTION remark_signup_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    is_recorded BOOLEAN := has_effective_record(NEW.shift_id, NEW.volunteer_id);
BEGIN
    UPDATE signups SET recorded = is_recorded
    WHERE shift_id = NEW.shift_id AND volunteer_id = NEW.volunteer_id
      AND recorded <> is_recorded;
    RETURN NULL;
END;
$$;
CREATE TRIGGER records_remark_signup AFTER UPDATE OF is_current, status ON service_records
FOR EACH ROW
WHEN (NEW.shift_id IS NOT NULL
  AND (OLD.is_current AND OLD.status = 'effective')
      IS DISTINCT FROM (NEW.is_current AND NEW.status = 'effective'))
EXECUTE FUNCTION remark_signup_recorded();

-- A sign-up is written with the answer. No path of the service writes one after a record
-- of its volunteer on its shift today; this keeps the flag true whatever the order.
CREATE FUNCTION signup_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.recorded := has_effective_record(NEW.shift_id, NEW.volunteer_id);
    RETURN NEW;
END;
$$;
CREATE TRIGGER signups_recorded BEFORE INSERT ON signups FOR EACH ROW
EXECUTE FUNCTION signup_recorded();
