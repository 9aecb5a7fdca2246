-- A record of a shift that becomes effective marks its volunteer's sign-up recorded
-- (migration 0020). On SQLite the store now does it for an inserted record, in the same
-- statement sequence as the insert, instead of the trigger: any trigger on
-- service_records makes SQLite keep a statement journal for every insert, a copy of
-- each page the insert touches, and in a transaction of many inserts (a batch upload)
-- each statement's release walks the journal of the whole transaction. An upload of
-- 100,000 rows took 43-270 s with the trigger and 1.6 s without. The trigger on updates
-- (a decision, a correction's new version) stays: those are single statements.
DROP TRIGGER records_mark_signup;
