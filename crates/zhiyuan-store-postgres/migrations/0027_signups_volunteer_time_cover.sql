-- Every sign-up looks for the volunteer's other live sign-ups overlapping its shift (a
-- warning), and a volunteer's schedule lists the live ones still to come: both read the
-- volunteer's sign-ups ending after a moment, then keep those starting before another.
-- The index held only when each ends, so every sign-up ending later was read from the
-- table to be passed over: fifty for a volunteer with a weekly shift booked a year
-- ahead, for each new sign-up. With when each starts in the index too, those are passed
-- over in the index, and only the overlapping ones read the table. (SQLite's index also
-- holds the status, which it then reads from the index; PostgreSQL checks the status
-- of the overlapping ones on the row, and few sign-ups are not live.)
DROP INDEX signups_volunteer_time;
CREATE INDEX signups_volunteer_time ON signups (volunteer_id, ends_at, starts_at);
