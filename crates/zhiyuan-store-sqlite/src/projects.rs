//! Projects and shifts.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::ids::{OrgId, SiteId};
use zhiyuan_domain::project::{ProjectStatus, SignupMode};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_store::{
    AuditEntry, NewProject, NewShift, Page, PageRequest, ProjectId, ProjectQuery, ProjectRecord,
    ProjectStore, Result, ShiftId, ShiftRecord, StoreError,
};

use crate::SqliteStore;
use crate::conv::{
    col, date, date_text, eq_filter, expect_one, json, micros, opt_json, region, store_err, time,
    to_json, write_audit,
};

/// A project cancelled cancels its shifts still to end (`?1` the project, `?2` now), so
/// that nobody checks in to them and no record is owed for them (Art. 11); their ids go
/// into the cancellation's audit entry, for the notifier to tell those signed up.
const CANCEL_SHIFTS: &str = "UPDATE shifts SET cancelled = 1, version = version + 1
     WHERE project_id = ?1 AND cancelled = 0 AND ends_at > ?2 RETURNING id";

const PROJECT_COLUMNS: &str = "id, org_id, name, category, description, region_code, site_id,
    address, lat, lng, geofence_m, starts_on, ends_on, conditions, risky, risk_disclosure,
    insurance, signup_mode, review_required, responsible_person, status, version, created_at,
    updated_at";

/// Projects in (region, id) order, by the filters given (see [`eq_filter`]).
pub(crate) fn list_sql(by_org: bool) -> String {
    format!(
        "SELECT {PROJECT_COLUMNS} FROM projects
         WHERE region_code >= ?1 AND region_code < ?2 AND (region_code, id) > (?3, ?4)
           AND {} AND (?6 IS NULL OR status = ?6)
           AND (?7 IS NULL OR category = ?7)
           AND (?8 IS NULL OR ends_on >= ?8) AND (?9 IS NULL OR starts_on <= ?9)
           AND (?11 IS NULL OR id IN (SELECT rowid FROM projects_fts WHERE projects_fts MATCH ?11))
           AND (?12 IS NULL OR name LIKE ?12 ESCAPE '\\' OR description LIKE ?12 ESCAPE '\\'
                OR address LIKE ?12 ESCAPE '\\')
           AND (?13 IS NULL OR (lat BETWEEN ?13 AND ?15 AND lng BETWEEN ?14 AND ?16))
         ORDER BY region_code, id LIMIT ?10",
        eq_filter("org_id", 5, by_org),
    )
}

fn project_from_row(row: &Row<'_>) -> rusqlite::Result<ProjectRecord> {
    let lat: Option<f64> = row.get(8)?;
    let lng: Option<f64> = row.get(9)?;
    Ok(ProjectRecord {
        id: ProjectId(row.get(0)?),
        project: NewProject {
            org: OrgId(row.get(1)?),
            name: row.get(2)?,
            category: col(row, 3, |s: String| ServiceCategory::parse(&s))?,
            description: row.get(4)?,
            region: region(row, 5)?,
            site: row.get::<_, Option<i64>>(6)?.map(SiteId),
            address: row.get(7)?,
            location: GeoPoint::from_columns(lat, lng),
            geofence_m: row.get(10)?,
            starts_on: date(row, 11)?,
            ends_on: date(row, 12)?,
            conditions: json(row, 13)?,
            risky: row.get(14)?,
            risk_disclosure: row.get(15)?,
            insurance: opt_json(row, 16)?,
            signup_mode: col(row, 17, |s: String| SignupMode::parse(&s))?,
            review_required: row.get(18)?,
            responsible_person: row.get(19)?,
            status: col(row, 20, |s: String| ProjectStatus::parse(&s))?,
        },
        version: row.get(21)?,
        created_at: time(row, 22)?,
        updated_at: time(row, 23)?,
    })
}

/// A LIKE pattern matching `text` anywhere, with `%`, `_` and `\\` taken literally.
fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub(crate) fn get_project(c: &Connection, id: i64) -> rusqlite::Result<Option<ProjectRecord>> {
    c.prepare_cached(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects WHERE id = ?1"
    ))?
    .query_row([id], project_from_row)
    .optional()
}

const SHIFT_COLUMNS: &str =
    "id, project_id, position, starts_at, ends_at, capacity, accepted, cancelled, version";

fn shift_from_row(row: &Row<'_>) -> rusqlite::Result<ShiftRecord> {
    shift_at(row, 0)
}

/// Reads a shift whose `SHIFT_COLUMNS` start at column `at` (joined rows).
pub(crate) fn shift_at(row: &Row<'_>, at: usize) -> rusqlite::Result<ShiftRecord> {
    Ok(ShiftRecord {
        id: ShiftId(row.get(at)?),
        shift: NewShift {
            project: ProjectId(row.get(at + 1)?),
            position: row.get(at + 2)?,
            starts_at: time(row, at + 3)?,
            ends_at: time(row, at + 4)?,
            capacity: row.get(at + 5)?,
        },
        accepted: row.get(at + 6)?,
        cancelled: row.get(at + 7)?,
        version: row.get(at + 8)?,
    })
}

pub(crate) fn get_shift(c: &Connection, id: i64) -> rusqlite::Result<Option<ShiftRecord>> {
    c.prepare_cached(&format!("SELECT {SHIFT_COLUMNS} FROM shifts WHERE id = ?1"))?
        .query_row([id], shift_from_row)
        .optional()
}

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn insert_project(&self, p: &NewProject, audit: &AuditEntry) -> Result<ProjectRecord> {
        let (p, audit) = (p.clone(), audit.clone());
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO projects (org_id, name, category, description, region_code, site_id,
                    address, lat, lng, geofence_m, starts_on, ends_on, conditions, risky,
                    risk_disclosure, insurance, signup_mode, review_required, responsible_person,
                    status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    ?17, ?18, ?19, ?20, ?21, ?21)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    p.org.0,
                    p.name,
                    p.category.code(),
                    p.description,
                    p.region.as_i64(),
                    p.site.map(|s| s.0),
                    p.address,
                    p.location.map(|l| l.lat),
                    p.location.map(|l| l.lng),
                    p.geofence_m,
                    date_text(p.starts_on),
                    date_text(p.ends_on),
                    to_json(&p.conditions),
                    p.risky,
                    p.risk_disclosure,
                    p.insurance.as_ref().map(to_json),
                    p.signup_mode.as_str(),
                    p.review_required,
                    p.responsible_person,
                    p.status.as_str(),
                    micros(audit.at),
                ])
            })
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            write_audit(tx, &audit, Some(id.to_string()))?;
            get_project(tx, id)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn get_project(&self, id: ProjectId) -> Result<Option<ProjectRecord>> {
        self.lookup(move |c| get_project(c, id.0)).await
    }

    async fn update_project(&self, r: &ProjectRecord, audit: &AuditEntry) -> Result<ProjectRecord> {
        let (r, audit) = (r.clone(), audit.clone());
        self.write(move |tx| {
            let p = &r.project;
            let changed = tx
                .execute(
                    "UPDATE projects SET name = ?3, category = ?4, description = ?5, site_id = ?6,
                        address = ?7, lat = ?8, lng = ?9, geofence_m = ?10, starts_on = ?11,
                        ends_on = ?12, conditions = ?13, risky = ?14, risk_disclosure = ?15,
                        insurance = ?16, signup_mode = ?17, review_required = ?18,
                        responsible_person = ?19, status = ?20, updated_at = ?21,
                        version = version + 1
                     WHERE id = ?1 AND version = ?2",
                    params![
                        r.id.0,
                        r.version,
                        p.name,
                        p.category.code(),
                        p.description,
                        p.site.map(|s| s.0),
                        p.address,
                        p.location.map(|l| l.lat),
                        p.location.map(|l| l.lng),
                        p.geofence_m,
                        date_text(p.starts_on),
                        date_text(p.ends_on),
                        to_json(&p.conditions),
                        p.risky,
                        p.risk_disclosure,
                        p.insurance.as_ref().map(to_json),
                        p.signup_mode.as_str(),
                        p.review_required,
                        p.responsible_person,
                        p.status.as_str(),
                        micros(audit.at),
                    ],
                )
                .map_err(store_err)?;
            expect_one(changed)?;
            let mut audit = audit;
            if p.status == ProjectStatus::Cancelled {
                let mut shifts: Vec<i64> = tx
                    .prepare_cached(CANCEL_SHIFTS)
                    .and_then(|mut q| {
                        q.query_map(params![r.id.0, micros(audit.at)], |row| row.get(0))?
                            .collect()
                    })
                    .map_err(store_err)?;
                shifts.sort_unstable();
                audit.add_detail("shifts", serde_json::json!(shifts));
            }
            write_audit(tx, &audit, None)?;
            get_project(tx, r.id.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn list_projects(
        &self,
        q: &ProjectQuery,
        page: &PageRequest,
    ) -> Result<Page<ProjectRecord>> {
        let (lo, hi) = q.within.map_or((0, i64::MAX), RegionCode::subtree);
        let org = q.org.map(|o| o.0);
        let status = q.status.map(ProjectStatus::as_str);
        let category = q.category.map(ServiceCategory::code);
        let from = q.from.map(date_text);
        let until = q.until.map(date_text);
        // Trigram full-text needs three characters; shorter words are matched directly.
        let (fts, like) = match q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) if t.chars().count() >= 3 => {
                (Some(format!("\"{}\"", t.replace('"', "\"\""))), None)
            }
            Some(t) => (None, Some(like_pattern(t))),
            None => (None, None),
        };
        let (sw, ne) = q.bbox.map_or((None, None), |(a, b)| (Some(a), Some(b)));
        let after = page.after.clone().map_or((0, 0), |c| (c.key(0), c.key(1)));
        let limit = page.limit;
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&list_sql(org.is_some()))?;
            let rows = stmt
                .query_map(
                    params![
                        lo,
                        hi,
                        after.0,
                        after.1,
                        org,
                        status,
                        category,
                        from,
                        until,
                        limit + 1,
                        fts,
                        like,
                        sw.map(|p| p.lat),
                        sw.map(|p| p.lng),
                        ne.map(|p| p.lat),
                        ne.map(|p| p.lng),
                    ],
                    project_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |p| {
                vec![p.project.region.as_i64(), p.id.0]
            }))
        })
        .await
    }

    async fn insert_shift(&self, s: &NewShift, audit: &AuditEntry) -> Result<ShiftRecord> {
        let (s, audit) = (s.clone(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO shifts (project_id, position, starts_at, ends_at, capacity)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    s.project.0,
                    s.position,
                    micros(s.starts_at),
                    micros(s.ends_at),
                    s.capacity
                ],
            )
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            write_audit(tx, &audit, Some(id.to_string()))?;
            get_shift(tx, id)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn get_shift(&self, id: ShiftId) -> Result<Option<ShiftRecord>> {
        self.lookup(move |c| get_shift(c, id.0)).await
    }

    async fn update_shift(&self, s: &ShiftRecord, audit: &AuditEntry) -> Result<ShiftRecord> {
        let (s, audit) = (s.clone(), audit.clone());
        self.write(move |tx| {
            let current = get_shift(tx, s.id.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)?;
            if s.shift.capacity < current.accepted {
                return Err(StoreError::Conflict { field: "capacity" });
            }
            let changed = tx
                .execute(
                    "UPDATE shifts SET position = ?3, starts_at = ?4, ends_at = ?5, capacity = ?6,
                        cancelled = ?7, version = version + 1
                     WHERE id = ?1 AND version = ?2",
                    params![
                        s.id.0,
                        s.version,
                        s.shift.position,
                        micros(s.shift.starts_at),
                        micros(s.shift.ends_at),
                        s.shift.capacity,
                        s.cancelled
                    ],
                )
                .map_err(store_err)?;
            expect_one(changed)?;
            if (s.shift.starts_at, s.shift.ends_at)
                != (current.shift.starts_at, current.shift.ends_at)
            {
                tx.execute(
                    "UPDATE signups SET starts_at = ?2, ends_at = ?3 WHERE shift_id = ?1",
                    params![s.id.0, micros(s.shift.starts_at), micros(s.shift.ends_at)],
                )
                .map_err(store_err)?;
            }
            if !s.cancelled && s.shift.capacity > current.shift.capacity {
                crate::signups::promote_waitlist(tx, s.id.0, micros(audit.at), &audit)?;
            }
            write_audit(tx, &audit, None)?;
            get_shift(tx, s.id.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn list_shifts(&self, project: ProjectId) -> Result<Vec<ShiftRecord>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {SHIFT_COLUMNS} FROM shifts WHERE project_id = ?1 ORDER BY starts_at, id"
            ))?
            .query_map([project.0], shift_from_row)?
            .collect()
        })
        .await
    }
}
