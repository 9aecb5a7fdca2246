-- Art. 11: a shift whose records become overdue is flagged to its team and jurisdiction
-- once, by housekeeping: an audit entry `records.overdue`, which the notifier turns
-- into messages for the team's administrators and deliveries for the jurisdiction's
-- subscriptions. `overdue_flagged` says it was sent.
--
-- Shifts over ten days before the upgrade are in the reports already; flagging them now
-- would send a team one message for each overdue shift of its past. So the column is
-- added true (without rewriting the table) and only the recent shifts are written.
ALTER TABLE shifts ADD COLUMN overdue_flagged BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE shifts SET overdue_flagged = FALSE WHERE ends_at >= now() - interval '10 days';
ALTER TABLE shifts ALTER COLUMN overdue_flagged SET DEFAULT FALSE;

DROP TRIGGER audit_log_events ON audit_log;
CREATE TRIGGER audit_log_events AFTER INSERT ON audit_log FOR EACH ROW
WHEN (NEW.action LIKE 'order.%' OR NEW.action LIKE 'call.%'
   OR NEW.action LIKE 'qualification.%' OR NEW.action LIKE 'records.%')
EXECUTE FUNCTION queue_audit_event();
