-- Events of activities (zhiyuan_store::EVENTS): what a team or the waitlist does to a
-- volunteer's sign-up, a shift or project cancelled, and the decisions on a volunteer's
-- records, corrections and star applications reach the volunteers' inboxes; a
-- volunteer's self-report, correction, reported omission or application to join
-- reaches the team's, and the decision on an application the volunteer's; a star
-- application or an objection to its notice reaches the certifying jurisdiction's.
-- Sign-ups made are not events (the volunteer made them), so the busiest write queues
-- nothing. A project's changes of status are events for subscribers too.
DROP TRIGGER audit_log_events ON audit_log;
CREATE TRIGGER audit_log_events AFTER INSERT ON audit_log FOR EACH ROW
WHEN (NEW.action LIKE 'order.%' OR NEW.action LIKE 'call.%'
   OR NEW.action LIKE 'qualification.%' OR NEW.action LIKE 'records.%'
   OR NEW.action IN ('membership.apply', 'membership.update', 'record.report',
                     'record.decide', 'correction.request', 'correction.omission',
                     'correction.decide', 'stars.apply', 'stars.objection', 'stars.decide',
                     'project.status', 'shift.cancel', 'signup.decide', 'signup.promote',
                     'signup.cancel', 'signup.absent', 'signup.reinstate'))
EXECUTE FUNCTION queue_audit_event();

-- The unread part of each inbox, counted for a badge and marked read at once.
CREATE INDEX IF NOT EXISTS notifications_unread ON notifications (account_id, id)
    WHERE read_at IS NULL;

-- A project cancelled now cancels its shifts still to end (the store does it in the
-- cancellation's transaction); projects cancelled before this version get the same: the
-- shifts that were still to end when the project last changed (its cancellation).
UPDATE shifts s SET cancelled = TRUE, version = s.version + 1
FROM projects p
WHERE p.id = s.project_id AND p.status = 'cancelled' AND NOT s.cancelled
  AND s.ends_at > p.updated_at;
