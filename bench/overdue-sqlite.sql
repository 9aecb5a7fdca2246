-- The overdue-report dataset of PERFORMANCE.md (issue 3, sixteenth round), for SQLite:
-- zhiyuan --database-url sqlite://o.db seed --volunteers 200000 --records 0
-- sqlite3 o.db < bench/overdue-sqlite.sql
PRAGMA journal_mode=WAL;
PRAGMA foreign_keys=OFF;
BEGIN;
INSERT INTO projects (id, org_id, name, category, description, region_code, address, starts_on, ends_on,
  conditions, risky, risk_disclosure, signup_mode, review_required, responsible_person, status, created_at, updated_at)
SELECT (o.id - 1) * 10 + k.value + 1, o.id, '项目' || o.id || '-' || k.value, 'environment', '', o.region_code, '地址',
  '2024-11-01', '2026-12-31', '{}', 0, '', 'automatic', 0, '负责人', 'published', 0, 0
FROM organisations o, generate_series(0, 9) k;
-- 200,000 shifts over the past two years, 2 hours each; now = 2026-12-04.
INSERT INTO shifts (id, project_id, position, starts_at, ends_at, capacity, accepted)
SELECT s.value, (s.value * 7919 % 12620) + 1, '岗位',
  1796342400000000 - s.value * 315360000 - 7200000000, 1796342400000000 - s.value * 315360000, 10, 10
FROM generate_series(1, 200000) s;
INSERT INTO signups (shift_id, volunteer_id, status, created_at, decided_at, starts_at, ends_at)
SELECT sh.id, ((sh.id * 10 + k.value) % 200000) + 1, 'accepted', sh.starts_at, sh.starts_at, sh.starts_at, sh.ends_at
FROM shifts sh, generate_series(0, 9) k;
-- A record for every sign-up but those of the last 30 days' shifts whose volunteer
-- number ends in 7 (about one in ten of them).
INSERT INTO service_records (volunteer_id, org_id, project_id, shift_id, activity_name, service_date, place,
  content, minutes, responsible_person, source, status, flags, created_at)
SELECT s.volunteer_id, p.org_id, p.id, s.shift_id, p.name, date(s.ends_at / 1000000, 'unixepoch'), '地址',
  '服务', 120, '负责人', 'attendance', 'effective', '[]', s.ends_at
FROM signups s JOIN shifts sh ON sh.id = s.shift_id JOIN projects p ON p.id = sh.project_id
WHERE NOT (s.ends_at > 1796342400000000 - 30 * 86400000000 AND s.volunteer_id % 10 = 7)
ORDER BY s.shift_id, s.volunteer_id;
-- Since migration 0022 the store marks a sign-up recorded when it inserts the record; a
-- bulk insert in SQL does not, so the flags are set from the rows as migration 0020 does.
UPDATE signups SET recorded = EXISTS (
    SELECT 1 FROM service_records r
    WHERE r.shift_id = signups.shift_id AND r.volunteer_id = signups.volunteer_id
      AND r.is_current = 1 AND r.status = 'effective');
COMMIT;
ANALYZE;
