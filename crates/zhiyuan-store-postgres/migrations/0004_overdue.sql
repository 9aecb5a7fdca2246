-- Finding shifts whose volunteers still lack a record (Art. 11).
CREATE INDEX records_shift ON service_records (shift_id, volunteer_id) WHERE shift_id IS NOT NULL;
CREATE INDEX shifts_ends ON shifts (ends_at);
