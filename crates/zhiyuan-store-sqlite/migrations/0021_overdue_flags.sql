-- Art. 11: a shift whose records become overdue is flagged to its team and jurisdiction
-- once, by housekeeping: an audit entry `records.overdue`, which the notifier turns
-- into messages for the team's administrators and deliveries for the jurisdiction's
-- subscriptions. `overdue_flagged` says it was sent.
ALTER TABLE shifts ADD COLUMN overdue_flagged INTEGER NOT NULL DEFAULT 0;
-- Shifts over ten days before the upgrade are in the reports already; flagging them now
-- would send a team one message for each overdue shift of its past.
UPDATE shifts SET overdue_flagged = 1
WHERE ends_at < CAST((julianday('now') - 2440587.5 - 10) * 86400000000 AS INTEGER);

DROP TRIGGER audit_log_events;
CREATE TRIGGER audit_log_events AFTER INSERT ON audit_log
WHEN NEW.action LIKE 'order.%' OR NEW.action LIKE 'call.%'
  OR NEW.action LIKE 'qualification.%' OR NEW.action LIKE 'records.%'
BEGIN
    INSERT INTO event_queue (audit_id) VALUES (NEW.id);
END;
