//! Projects and shifts.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::ids::{OrgId, SiteId};
use zhiyuan_domain::project::{ProjectStatus, SignupMode};
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_store::{
    AuditEntry, NewProject, NewShift, Page, PageRequest, ProjectId, ProjectQuery, ProjectRecord,
    ProjectStore, Result, ShiftId, ShiftRecord, StoreError,
};

use crate::PgStore;
use crate::conv::{
    conv, eq_filter, expect_one, get, json, pg_err, range, region, to_json, write_audit,
};

/// A project cancelled cancels its shifts still to end (`$1` the project, `$2` now), so
/// that nobody checks in to them and no record is owed for them (Art. 11); their ids go
/// into the cancellation's audit entry, for the notifier to tell those signed up.
const CANCEL_SHIFTS: &str = "UPDATE shifts SET cancelled = TRUE, version = version + 1
     WHERE project_id = $1 AND NOT cancelled AND ends_at > $2 RETURNING id";

const PROJECT_COLUMNS: &str = "id, org_id, name, category, description, region_code, site_id,
    address, lat, lng, geofence_m, starts_on, ends_on, conditions, risky, risk_disclosure,
    insurance, signup_mode, review_required, responsible_person, status, version, created_at,
    updated_at";

/// Projects in (region, id) order, by the filters given (see [`eq_filter`]). A team's
/// are few: they are read through the team's index and sorted (`region_code + 0` keeps
/// the region index out, which a plan would otherwise walk to save the sort, testing
/// every project of the region for the team).
pub(crate) fn list_sql(by_org: bool, by_text: bool) -> String {
    let region = if by_org {
        "region_code + 0"
    } else {
        "region_code"
    };
    format!(
        "SELECT {PROJECT_COLUMNS} FROM projects
         WHERE {region} >= $1 AND {region} < $2 AND ({region}, id) > ($3, $4)
           AND {} AND ($6::TEXT IS NULL OR status = $6)
           AND ($7::TEXT IS NULL OR category = $7)
           AND ($8::DATE IS NULL OR ends_on >= $8) AND ($9::DATE IS NULL OR starts_on <= $9)
           AND {}
           AND ($12::FLOAT8 IS NULL OR (lat BETWEEN $12 AND $14 AND lng BETWEEN $13 AND $15))
         ORDER BY region_code, id LIMIT $10",
        eq_filter("org_id", 5, "BIGINT", by_org),
        if by_text {
            "(name || ' ' || description || ' ' || address) ILIKE $11"
        } else {
            "$11::TEXT IS NULL"
        },
    )
}

fn project_from_row(row: &Row) -> Result<ProjectRecord> {
    let lat: Option<f64> = get(row, 8)?;
    let lng: Option<f64> = get(row, 9)?;
    let insurance: Option<serde_json::Value> = get(row, 16)?;
    Ok(ProjectRecord {
        id: ProjectId(get(row, 0)?),
        project: NewProject {
            org: OrgId(get(row, 1)?),
            name: get(row, 2)?,
            category: conv(row, 3, |s: &str| ServiceCategory::parse(s))?,
            description: get(row, 4)?,
            region: region(row, 5)?,
            site: get::<Option<i64>>(row, 6)?.map(SiteId),
            address: get(row, 7)?,
            location: GeoPoint::from_columns(lat, lng),
            geofence_m: get(row, 10)?,
            starts_on: get(row, 11)?,
            ends_on: get(row, 12)?,
            conditions: json(row, 13)?,
            risky: get(row, 14)?,
            risk_disclosure: get(row, 15)?,
            insurance: insurance
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| StoreError::corrupt(e.to_string()))?,
            signup_mode: conv(row, 17, |s: &str| SignupMode::parse(s))?,
            review_required: get(row, 18)?,
            responsible_person: get(row, 19)?,
            status: conv(row, 20, |s: &str| ProjectStatus::parse(s))?,
        },
        version: get(row, 21)?,
        created_at: get(row, 22)?,
        updated_at: get(row, 23)?,
    })
}

/// An ILIKE pattern matching `text` anywhere, with `%`, `_` and `\\` taken literally.
fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The project whose id is `id_of` (an SQL expression of `$1`) for `key`.
async fn fetch_project_where(
    c: &impl GenericClient,
    id_of: &str,
    key: i64,
) -> Result<Option<ProjectRecord>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE id = {id_of}"
        ))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&key]).await.map_err(pg_err)?;
    row.as_ref().map(project_from_row).transpose()
}

async fn fetch_project(c: &impl GenericClient, id: i64) -> Result<Option<ProjectRecord>> {
    fetch_project_where(c, "$1", id).await
}

/// The projects of `shifts`.
pub(crate) async fn fetch_projects_of_shifts(
    c: &impl GenericClient,
    shifts: &[i64],
) -> Result<Vec<ProjectRecord>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects
             WHERE id = ANY(ARRAY(SELECT project_id FROM shifts WHERE id = ANY($1)))"
        ))
        .await
        .map_err(pg_err)?;
    let rows = c.query(&stmt, &[&shifts]).await.map_err(pg_err)?;
    rows.iter().map(project_from_row).collect()
}

pub(crate) const SHIFT_COLUMNS: &str =
    "id, project_id, position, starts_at, ends_at, capacity, accepted, cancelled, version";

/// Reads a shift whose `SHIFT_COLUMNS` start at column `at`.
pub(crate) fn shift_at(row: &Row, at: usize) -> Result<ShiftRecord> {
    Ok(ShiftRecord {
        id: ShiftId(get(row, at)?),
        shift: NewShift {
            project: ProjectId(get(row, at + 1)?),
            position: get(row, at + 2)?,
            starts_at: get(row, at + 3)?,
            ends_at: get(row, at + 4)?,
            capacity: get(row, at + 5)?,
        },
        accepted: get(row, at + 6)?,
        cancelled: get(row, at + 7)?,
        version: get(row, at + 8)?,
    })
}

/// The lock a writer of a shift's places takes on its row. `NO KEY UPDATE` excludes every
/// other writer of the row but not the `KEY SHARE` lock of a foreign-key check: inserting a
/// sign-up, attendance or record of the shift does not wait for it, so a check-in, which
/// locks its sign-up first, cannot deadlock with a change of status, which locks the shift
/// first (see [`crate::signups`]).
const SHIFT_LOCK: &str = " FOR NO KEY UPDATE";

pub(crate) async fn fetch_shift(
    c: &impl GenericClient,
    id: i64,
    lock: bool,
) -> Result<Option<ShiftRecord>> {
    let sql = format!(
        "SELECT {SHIFT_COLUMNS} FROM shifts WHERE id = $1{}",
        if lock { SHIFT_LOCK } else { "" }
    );
    let stmt = c.prepare_cached(&sql).await.map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(pg_err)?;
    row.as_ref().map(|r| shift_at(r, 0)).transpose()
}

/// Reads the shifts `ids`; with `lock`, locks them in the order of their ids (so that two
/// transactions locking several shifts cannot deadlock).
pub(crate) async fn fetch_shifts(
    c: &impl GenericClient,
    ids: &[i64],
    lock: bool,
) -> Result<Vec<ShiftRecord>> {
    let sql = format!(
        "SELECT {SHIFT_COLUMNS} FROM shifts WHERE id = ANY($1){}",
        if lock {
            [" ORDER BY id", SHIFT_LOCK].concat()
        } else {
            String::new()
        }
    );
    let stmt = c.prepare_cached(&sql).await.map_err(pg_err)?;
    let rows = c.query(&stmt, &[&ids]).await.map_err(pg_err)?;
    rows.iter().map(|r| shift_at(r, 0)).collect()
}

#[async_trait]
impl ProjectStore for PgStore {
    async fn insert_project(&self, p: &NewProject, audit: &AuditEntry) -> Result<ProjectRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached("INSERT INTO projects (org_id, name, category, description, region_code, site_id,
                    address, lat, lng, geofence_m, starts_on, ends_on, conditions, risky,
                    risk_disclosure, insurance, signup_mode, review_required, responsible_person,
                    status, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                    $17, $18, $19, $20, $21, $21) RETURNING id").await.map_err(pg_err)?,
                &[
                    &p.org.0,
                    &p.name,
                    &p.category.code(),
                    &p.description,
                    &p.region.as_i64(),
                    &p.site.map(|s| s.0),
                    &p.address,
                    &p.location.map(|l| l.lat),
                    &p.location.map(|l| l.lng),
                    &p.geofence_m,
                    &p.starts_on,
                    &p.ends_on,
                    &to_json(&p.conditions),
                    &p.risky,
                    &p.risk_disclosure,
                    &p.insurance.as_ref().map(to_json),
                    &p.signup_mode.as_str(),
                    &p.review_required,
                    &p.responsible_person,
                    &p.status.as_str(),
                    &audit.at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let record = fetch_project(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn get_project(&self, id: ProjectId) -> Result<Option<ProjectRecord>> {
        fetch_project(&self.client().await?, id.0).await
    }

    async fn update_project(&self, r: &ProjectRecord, audit: &AuditEntry) -> Result<ProjectRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let p = &r.project;
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE projects SET name = $3, category = $4, description = $5, site_id = $6,
                    address = $7, lat = $8, lng = $9, geofence_m = $10, starts_on = $11,
                    ends_on = $12, conditions = $13, risky = $14, risk_disclosure = $15,
                    insurance = $16, signup_mode = $17, review_required = $18,
                    responsible_person = $19, status = $20, updated_at = $21,
                    version = version + 1
                 WHERE id = $1 AND version = $2",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &r.id.0,
                    &r.version,
                    &p.name,
                    &p.category.code(),
                    &p.description,
                    &p.site.map(|s| s.0),
                    &p.address,
                    &p.location.map(|l| l.lat),
                    &p.location.map(|l| l.lng),
                    &p.geofence_m,
                    &p.starts_on,
                    &p.ends_on,
                    &to_json(&p.conditions),
                    &p.risky,
                    &p.risk_disclosure,
                    &p.insurance.as_ref().map(to_json),
                    &p.signup_mode.as_str(),
                    &p.review_required,
                    &p.responsible_person,
                    &p.status.as_str(),
                    &audit.at,
                ],
            )
            .await
            .map_err(pg_err)?;
        expect_one(changed)?;
        let mut audit = audit.clone();
        if p.status == ProjectStatus::Cancelled {
            let rows = tx
                .query(
                    &tx.prepare_cached(CANCEL_SHIFTS).await.map_err(pg_err)?,
                    &[&r.id.0, &audit.at],
                )
                .await
                .map_err(pg_err)?;
            let mut shifts: Vec<i64> = rows.iter().map(|row| get(row, 0)).collect::<Result<_>>()?;
            shifts.sort_unstable();
            audit.add_detail("shifts", serde_json::json!(shifts));
        }
        write_audit(&tx, &audit, None).await?;
        let record = fetch_project(&tx, r.id.0)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn list_projects(
        &self,
        q: &ProjectQuery,
        page: &PageRequest,
    ) -> Result<Page<ProjectRecord>> {
        let (lo, hi) = range(q.within);
        let after = page.after.clone().map_or((0, 0), |c| (c.key(0), c.key(1)));
        let text = q
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(like_pattern);
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&list_sql(q.org.is_some(), text.is_some()))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &lo,
                    &hi,
                    &after.0,
                    &after.1,
                    &q.org.map(|o| o.0),
                    &q.status.map(ProjectStatus::as_str),
                    &q.category.map(ServiceCategory::code),
                    &q.from,
                    &q.until,
                    &(i64::from(page.limit) + 1),
                    &text,
                    &q.bbox.map(|b| b.0.lat),
                    &q.bbox.map(|b| b.0.lng),
                    &q.bbox.map(|b| b.1.lat),
                    &q.bbox.map(|b| b.1.lng),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows
            .iter()
            .map(project_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |p| {
            vec![p.project.region.as_i64(), p.id.0]
        }))
    }

    async fn insert_shift(&self, s: &NewShift, audit: &AuditEntry) -> Result<ShiftRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO shifts (project_id, position, starts_at, ends_at, capacity)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &s.project.0,
                    &s.position,
                    &s.starts_at,
                    &s.ends_at,
                    &s.capacity,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let record = fetch_shift(&tx, id, false)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn get_shift(&self, id: ShiftId) -> Result<Option<ShiftRecord>> {
        fetch_shift(&self.client().await?, id.0, false).await
    }

    async fn get_shift_with_project(
        &self,
        id: ShiftId,
    ) -> Result<Option<(ShiftRecord, ProjectRecord)>> {
        let store = self.clone();
        self.shifts
            .get(id.0, move |ids| async move {
                let client = store.batch_client().await?;
                // Pipelined on the one connection.
                let (shifts, projects) = futures::try_join!(
                    fetch_shifts(&client, &ids, false),
                    fetch_projects_of_shifts(&client, &ids),
                )?;
                let projects: HashMap<ProjectId, ProjectRecord> =
                    projects.into_iter().map(|p| (p.id, p)).collect();
                Ok(shifts
                    .into_iter()
                    .filter_map(|s| {
                        let p = projects.get(&s.shift.project)?.clone();
                        Some((s.id.0, (s, p)))
                    })
                    .collect())
            })
            .await
    }

    async fn update_shift(&self, s: &ShiftRecord, audit: &AuditEntry) -> Result<ShiftRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let current = fetch_shift(&tx, s.id.0, true)
            .await?
            .ok_or(StoreError::NotFound)?;
        if s.shift.capacity < current.accepted {
            return Err(StoreError::Conflict { field: "capacity" });
        }
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE shifts SET position = $3, starts_at = $4, ends_at = $5, capacity = $6,
                    cancelled = $7, version = version + 1
                 WHERE id = $1 AND version = $2",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &s.id.0,
                    &s.version,
                    &s.shift.position,
                    &s.shift.starts_at,
                    &s.shift.ends_at,
                    &s.shift.capacity,
                    &s.cancelled,
                ],
            )
            .await
            .map_err(pg_err)?;
        expect_one(changed)?;
        if (s.shift.starts_at, s.shift.ends_at) != (current.shift.starts_at, current.shift.ends_at)
        {
            tx.execute(
                &tx.prepare_cached(
                    "UPDATE signups SET starts_at = $2, ends_at = $3 WHERE shift_id = $1",
                )
                .await
                .map_err(pg_err)?,
                &[&s.id.0, &s.shift.starts_at, &s.shift.ends_at],
            )
            .await
            .map_err(pg_err)?;
        }
        if !s.cancelled && s.shift.capacity > current.shift.capacity {
            crate::signups::promote_waitlist(&tx, s.id.0, audit.at, audit).await?;
        }
        write_audit(&tx, audit, None).await?;
        let record = fetch_shift(&tx, s.id.0, false)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn list_shifts(&self, project: ProjectId) -> Result<Vec<ShiftRecord>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {SHIFT_COLUMNS} FROM shifts WHERE project_id = $1 ORDER BY starts_at, id"
            ))
            .await
            .map_err(pg_err)?;
        let rows = client.query(&stmt, &[&project.0]).await.map_err(pg_err)?;
        rows.iter().map(|r| shift_at(r, 0)).collect()
    }
}
