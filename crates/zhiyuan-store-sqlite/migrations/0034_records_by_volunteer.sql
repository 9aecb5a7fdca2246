-- A volunteer's records had two indexes: (volunteer_id, id) for their list, newest
-- first, and (volunteer_id, service_date) covering the minutes of the records that
-- count, for the per-day cap. Every record written went into both, each time at a page
-- of its own (one volunteer's entries sit among the province's): on 20,000,000 records,
-- an upload of 100,000 rows took a fifth to a quarter less time without the second
-- (PERFORMANCE.md, thirty-second round). One index now serves both. It covers a day's
-- minutes for the cap, and the columns the list filters on, so that the list sorts the
-- ids of one volunteer's entries in it (not the province's records) and reads only the
-- rows of the page it returns. It holds every record, not only those that count,
-- because the list shows them all.
DROP INDEX records_volunteer_day;
DROP INDEX records_volunteer;
CREATE INDEX records_volunteer
    ON service_records (volunteer_id, service_date, minutes, is_current, status);
