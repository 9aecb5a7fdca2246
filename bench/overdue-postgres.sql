-- The overdue-report dataset of PERFORMANCE.md (issue 3, sixteenth round), for PostgreSQL:
-- zhiyuan --database-url postgres://postgres@127.0.0.1:5432/zov seed --volunteers 200000 --records 0
-- psql -h 127.0.0.1 -U postgres zov -f bench/overdue-postgres.sql
BEGIN;
INSERT INTO projects (id, org_id, name, category, description, region_code, address, starts_on, ends_on,
  conditions, risky, risk_disclosure, signup_mode, review_required, responsible_person, status, created_at, updated_at)
SELECT (o.id - 1) * 10 + k + 1, o.id, '项目' || o.id || '-' || k, 'environment', '', o.region_code, '地址',
  '2024-11-01', '2026-12-31', '{}', false, '', 'automatic', false, '负责人', 'published', now(), now()
FROM organisations o, generate_series(0, 9) k;
INSERT INTO shifts (id, project_id, position, starts_at, ends_at, capacity, accepted)
SELECT s, (s::bigint * 7919 % 12620) + 1, '岗位',
  timestamptz '2026-12-04 00:00:00+00' - s * interval '315.36 seconds' - interval '2 hours',
  timestamptz '2026-12-04 00:00:00+00' - s * interval '315.36 seconds', 10, 10
FROM generate_series(1, 200000) s;
INSERT INTO signups (shift_id, volunteer_id, status, created_at, decided_at, starts_at, ends_at)
SELECT sh.id, ((sh.id * 10 + k) % 200000) + 1, 'accepted', sh.starts_at, sh.starts_at, sh.starts_at, sh.ends_at
FROM shifts sh, generate_series(0, 9) k;
INSERT INTO service_records (volunteer_id, org_id, project_id, shift_id, activity_name, service_date, place,
  content, minutes, responsible_person, source, status, flags, created_at)
SELECT s.volunteer_id, p.org_id, p.id, s.shift_id, p.name, s.ends_at::date, '地址',
  '服务', 120, '负责人', 'attendance', 'effective', '[]', s.ends_at
FROM signups s JOIN shifts sh ON sh.id = s.shift_id JOIN projects p ON p.id = sh.project_id
WHERE NOT (s.ends_at > timestamptz '2026-12-04 00:00:00+00' - interval '30 days' AND s.volunteer_id % 10 = 7)
ORDER BY s.shift_id, s.volunteer_id;
COMMIT;
VACUUM ANALYZE;
