-- A freed place goes to the first on the shift's waitlist in the order they signed up
-- (`created_at`: whoever signs up again after cancelling goes to the back, so not in id
-- order). The queue index is in id order, so finding the first read every waitlisted
-- sign-up of the shift and sorted them, once for each place freed; on a popular shift,
-- thousands of rows inside the one transaction that holds the shift. This index holds
-- only the waitlisted, in the order they are served.
CREATE INDEX signups_waitlist ON signups (shift_id, created_at, id) WHERE status = 'waitlisted';
