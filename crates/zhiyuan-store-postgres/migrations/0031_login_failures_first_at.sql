-- Housekeeping purges the failed sign-ins whose window has passed (and whose lock, if
-- any, has expired): a range of `first_at`, not a walk of every login that failed lately,
-- which under a password-guessing run from many logins is a large table.
CREATE INDEX login_failures_first_at ON login_failures (first_at);
