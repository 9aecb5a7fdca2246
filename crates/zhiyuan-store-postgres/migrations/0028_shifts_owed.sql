-- On SQLite this migration gives each shift a count of its sign-ups owed a record, kept
-- by triggers, and drops the partial indexes over owed sign-ups (see that migration).
-- PostgreSQL keeps the indexes: there a count on the shift's row would be a row lock
-- that every check-out of the shift takes until its transaction commits, so the
-- group-committed check-outs of one shift, and every status change of its sign-ups,
-- would wait on each other; SQLite's one writer takes its writes one at a time anyway.
SELECT 1;
