-- What a volunteer already holds on a day (the per-day cap, checked for every entered
-- record and every row of an upload) is answered from the index alone: it covers the
-- minutes and holds only the records that count.
DROP INDEX records_volunteer_day;
-- (SQLite counts an index as covering only if it holds every column the query names,
-- those of the partial index's condition too.)
CREATE INDEX records_volunteer_day
    ON service_records (volunteer_id, service_date, minutes, is_current, status)
    WHERE is_current = 1 AND status = 'effective';
