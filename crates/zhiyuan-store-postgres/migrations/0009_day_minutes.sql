-- What a volunteer already holds on a day (the per-day cap, checked for every entered
-- record and every row of an upload) is answered from the index alone: it covers the
-- minutes and holds only the records that count.
DROP INDEX records_volunteer_day;
CREATE INDEX records_volunteer_day ON service_records (volunteer_id, service_date)
    INCLUDE (minutes) WHERE is_current AND status = 'effective';
