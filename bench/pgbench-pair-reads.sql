-- pgbench script: pgbench-pair-writes.sql plus the reads a pair makes before writing,
-- one statement each (shift and project, team, volunteer, attendance, sign-up; then shift
-- and project, team, volunteer, attendance, the day's minutes). Same invocation.
\set s random(1, :shifts)
\set v random(1, :volunteers)
SELECT s.*, p.* FROM shifts s JOIN projects p ON p.id = s.project_id WHERE s.id = :s;
SELECT * FROM organisations WHERE id = 1;
SELECT * FROM volunteers WHERE id = :v;
SELECT * FROM attendance WHERE shift_id = :s AND volunteer_id = :v;
SELECT * FROM signups WHERE shift_id = :s AND volunteer_id = :v;
WITH w AS (INSERT INTO attendance (shift_id, volunteer_id, checked_in_at, check_in_method) VALUES (:s, :v, now(), 'coordinator') ON CONFLICT DO NOTHING RETURNING id), a AS (INSERT INTO audit_log (at, actor_account_id, request_id, action, subject_type, subject_id, region_code, details) SELECT now(), 1, 'pgbench', 'attendance.check_in', 'attendance', w.id::text, 440100, '{"shift": 1, "volunteer": 2, "method": "coordinator"}' FROM w) SELECT id FROM w;
SELECT s.*, p.* FROM shifts s JOIN projects p ON p.id = s.project_id WHERE s.id = :s;
SELECT * FROM organisations WHERE id = 1;
SELECT * FROM volunteers WHERE id = :v;
SELECT * FROM attendance WHERE shift_id = :s AND volunteer_id = :v;
SELECT sum(minutes) FROM service_records WHERE volunteer_id = :v AND service_date = current_date AND is_current AND status = 'effective';
WITH ins AS (INSERT INTO service_records (volunteer_id, org_id, project_id, shift_id, activity_name, service_date, place, content, minutes, responsible_person, source, status, flags, created_at, created_by) VALUES (:v, 1, 1, :s, '报名压测（岗位1）', current_date, '压测地点', '大型活动', 60, '压测', 'attendance', 'effective', '[]', now(), 1) RETURNING id, volunteer_id), l AS (INSERT INTO ledger_entries (kind, subject_id, salt, commitment, created_at) SELECT 1, id, '\x000102030405060708090a0b0c0d0e0f', '\x000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f', now() FROM ins), t AS (INSERT INTO volunteer_totals (volunteer_id, minutes, records) SELECT volunteer_id, 60, 1 FROM ins ON CONFLICT (volunteer_id) DO UPDATE SET minutes = volunteer_totals.minutes + excluded.minutes, records = volunteer_totals.records + excluded.records), y AS (INSERT INTO volunteer_year_totals (volunteer_id, year, minutes, records) SELECT volunteer_id, 2026, 60, 1 FROM ins ON CONFLICT (volunteer_id, year) DO UPDATE SET minutes = volunteer_year_totals.minutes + excluded.minutes, records = volunteer_year_totals.records + excluded.records), u AS (UPDATE attendance SET checked_out_at = now(), check_out_method = 'coordinator', record_id = (SELECT id FROM ins), version = version + 1 WHERE shift_id = :s AND volunteer_id = :v AND checked_out_at IS NULL RETURNING id), a AS (INSERT INTO audit_log (at, actor_account_id, request_id, action, subject_type, subject_id, region_code, details) SELECT now(), 1, 'pgbench', 'attendance.check_out', 'attendance', u.id::text, 440100, '{"record": 1}' FROM u) SELECT id FROM ins;
