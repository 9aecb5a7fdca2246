-- What an app server tells the others sharing this database: which of the data they keep
-- in memory for a while (verified sessions, sites, menus, a county's teams) a change made
-- stale. Each server reads the new rows every second or so and forgets what they name,
-- instead of serving it until it expires. A table, not LISTEN/NOTIFY, so that it works on
-- both backends and on distributed engines without NOTIFY. Rows are stamped by the
-- database's clock and deleted after an hour by housekeeping.
CREATE TABLE announcements (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    message TEXT    NOT NULL
) STRICT;
CREATE INDEX announcements_at ON announcements (at);
