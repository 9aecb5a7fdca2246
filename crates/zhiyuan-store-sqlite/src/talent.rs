//! The talent pool: professional qualifications.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::Date;
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::talent::MemberStatus;
use zhiyuan_domain::talent::{QualificationKind, QualificationStatus};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, CallMember, CallRecord, NewCall, NewQualification, Page, PageRequest, PoolQuery,
    QualificationRecord, Result, RollCall, StoreError, TalentStore,
};

use crate::SqliteStore;
use crate::conv::{
    col, date_text, expect_one, json, micros, opt_time, region, store_err, time, to_json,
    write_audit,
};

const SELECT: &str = "SELECT q.id, q.volunteer_id, q.kind, q.title, q.certificate_number,
    q.issuer, q.valid_until, q.status, q.decided_by, q.decided_at, q.reason, q.created_at,
    q.version, v.number, v.name
    FROM qualifications q JOIN volunteers v ON v.id = q.volunteer_id";

fn from_row(row: &Row<'_>) -> rusqlite::Result<QualificationRecord> {
    let valid_until: Option<String> = row.get(6)?;
    Ok(QualificationRecord {
        id: row.get(0)?,
        qualification: NewQualification {
            volunteer: VolunteerId(row.get(1)?),
            kind: col(row, 2, |s: String| QualificationKind::parse(&s))?,
            title: row.get(3)?,
            certificate_number: row.get(4)?,
            issuer: row.get(5)?,
            valid_until: valid_until
                .and_then(|d| zhiyuan_domain::registration::parse_date(&d).ok()),
            created_at: time(row, 11)?,
        },
        status: col(row, 7, |s: String| QualificationStatus::parse(&s))?,
        decided_by: row.get::<_, Option<i64>>(8)?.map(AccountId),
        decided_at: opt_time(row, 9)?,
        reason: row.get(10)?,
        volunteer_number: col(row, 13, VolunteerNumber::from_i64)?,
        volunteer_name: row.get(14)?,
        version: row.get(12)?,
    })
}

fn get(c: &Connection, id: i64) -> Result<QualificationRecord> {
    c.prepare_cached(&format!("{SELECT} WHERE q.id = ?1"))
        .and_then(|mut s| s.query_row([id], from_row).optional())
        .map_err(store_err)?
        .ok_or(StoreError::NotFound)
}

const CALL: &str = "SELECT id, region_code, kinds, needed, assembly_point, lat, lng,
    assemble_at, note, created_by, created_at, selected FROM calls";

fn call_row(row: &Row<'_>) -> rusqlite::Result<CallRecord> {
    let lat: Option<f64> = row.get(5)?;
    let lng: Option<f64> = row.get(6)?;
    Ok(CallRecord {
        id: row.get(0)?,
        call: NewCall {
            region: region(row, 1)?,
            kinds: json(row, 2)?,
            needed: row.get(3)?,
            assembly_point: row.get(4)?,
            location: GeoPoint::from_columns(lat, lng),
            assemble_at: time(row, 7)?,
            note: row.get(8)?,
            created_by: row.get::<_, Option<i64>>(9)?.map(AccountId),
            created_at: time(row, 10)?,
        },
        selected: row.get(11)?,
    })
}

const MEMBER: &str = "SELECT m.call_id, m.volunteer_id, v.number, v.name, m.kind, m.status,
    m.updated_at FROM call_members m JOIN volunteers v ON v.id = m.volunteer_id";

fn member_row(row: &Row<'_>) -> rusqlite::Result<CallMember> {
    Ok(CallMember {
        call: row.get(0)?,
        volunteer: VolunteerId(row.get(1)?),
        volunteer_number: col(row, 2, VolunteerNumber::from_i64)?,
        volunteer_name: row.get(3)?,
        kind: col(row, 4, |s: String| QualificationKind::parse(&s))?,
        status: col(row, 5, |s: String| MemberStatus::parse(&s))?,
        updated_at: time(row, 6)?,
    })
}

fn member(c: &Connection, call: i64, volunteer: i64) -> rusqlite::Result<Option<CallMember>> {
    c.prepare_cached(&format!(
        "{MEMBER} WHERE m.call_id = ?1 AND m.volunteer_id = ?2"
    ))?
    .query_row(params![call, volunteer], member_row)
    .optional()
}

#[async_trait]
impl TalentStore for SqliteStore {
    async fn insert_call(
        &self,
        c: &NewCall,
        limit: i64,
        valid_on: Date,
        adult_born_by: Date,
        audit: &AuditEntry,
    ) -> Result<CallRecord> {
        let (c, audit) = (c.clone(), audit.clone());
        self.write(move |tx| {
            let kinds: Vec<&str> = c.kinds.iter().map(|k| k.as_str()).collect();
            tx.execute(
                "INSERT INTO calls (region_code, kinds, needed, assembly_point, lat, lng,
                    assemble_at, note, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    c.region.as_i64(),
                    to_json(&c.kinds),
                    c.needed,
                    c.assembly_point,
                    c.location.map(|p| p.lat),
                    c.location.map(|p| p.lng),
                    micros(c.assemble_at),
                    c.note,
                    c.created_by.map(|a| a.0),
                    micros(c.created_at)
                ],
            )
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            let (lo, hi) = c.region.subtree();
            let selected = tx
                .execute(
                    "INSERT INTO call_members (call_id, volunteer_id, kind, status, updated_at)
                     SELECT ?1, q.volunteer_id, MIN(q.kind), 'notified', ?2
                     FROM qualifications q JOIN volunteers v ON v.id = q.volunteer_id
                     WHERE q.kind IN (SELECT value FROM json_each(?3)) AND q.status = 'verified'
                       AND (q.valid_until IS NULL OR q.valid_until >= ?4)
                       AND v.residence_region >= ?5 AND v.residence_region < ?6
                       AND v.birth_date <= ?7
                     GROUP BY q.volunteer_id ORDER BY q.volunteer_id LIMIT ?8",
                    params![
                        id,
                        micros(c.created_at),
                        to_json(&kinds),
                        date_text(valid_on),
                        lo,
                        hi,
                        date_text(adult_born_by),
                        limit
                    ],
                )
                .map_err(store_err)?;
            tx.execute(
                "UPDATE calls SET selected = ?2 WHERE id = ?1",
                params![id, selected],
            )
            .map_err(store_err)?;
            write_audit(tx, &audit, Some(id.to_string()))?;
            tx.prepare_cached(&format!("{CALL} WHERE id = ?1"))
                .and_then(|mut s| s.query_row([id], call_row))
                .map_err(store_err)
        })
        .await
    }

    async fn get_call(&self, id: i64) -> Result<Option<CallRecord>> {
        self.read(move |c| {
            c.prepare_cached(&format!("{CALL} WHERE id = ?1"))?
                .query_row([id], call_row)
                .optional()
        })
        .await
    }

    async fn call_member(&self, call: i64, volunteer: VolunteerId) -> Result<Option<CallMember>> {
        self.read(move |c| member(c, call, volunteer.0)).await
    }

    async fn update_call_member(
        &self,
        m: &CallMember,
        from: MemberStatus,
        audit: &AuditEntry,
    ) -> Result<CallMember> {
        let (m, audit) = (m.clone(), audit.clone());
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE call_members SET status = ?3, updated_at = ?4
                     WHERE call_id = ?1 AND volunteer_id = ?2 AND status = ?5",
                    params![
                        m.call,
                        m.volunteer.0,
                        m.status.as_str(),
                        micros(m.updated_at),
                        from.as_str()
                    ],
                )
                .map_err(store_err)?;
            if changed != 1 {
                return Err(StoreError::Conflict { field: "status" });
            }
            write_audit(tx, &audit, None)?;
            member(tx, m.call, m.volunteer.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn roll_call(&self, call: i64) -> Result<RollCall> {
        self.read(move |c| {
            let mut r = RollCall::default();
            let mut stmt = c.prepare_cached(
                "SELECT status, COUNT(*) FROM call_members WHERE call_id = ?1 GROUP BY status",
            )?;
            let rows = stmt.query_map([call], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (status, n) = row?;
                match MemberStatus::parse(&status) {
                    Some(MemberStatus::Notified) => r.notified = n,
                    Some(MemberStatus::Acknowledged) => r.acknowledged = n,
                    Some(MemberStatus::Declined) => r.declined = n,
                    Some(MemberStatus::CheckedIn) => r.checked_in = n,
                    None => {}
                }
            }
            Ok(r)
        })
        .await
    }

    async fn call_members(
        &self,
        call: i64,
        status: Option<MemberStatus>,
        page: &PageRequest,
    ) -> Result<Page<CallMember>> {
        let after = page.after.as_ref().map_or(0, |c| c.key(0));
        let limit = page.limit;
        self.read(move |c| {
            let rows = c
                .prepare_cached(&format!(
                    "{MEMBER} WHERE m.call_id = ?1 AND (?2 IS NULL OR m.status = ?2)
                       AND m.volunteer_id > ?3 ORDER BY m.volunteer_id LIMIT ?4"
                ))?
                .query_map(
                    params![call, status.map(MemberStatus::as_str), after, limit + 1],
                    member_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |m| vec![m.volunteer.0]))
        })
        .await
    }

    async fn calls_of(&self, volunteer: VolunteerId) -> Result<Vec<(CallRecord, CallMember)>> {
        self.read(move |c| {
            let ids: Vec<i64> = c
                .prepare_cached(
                    "SELECT call_id FROM call_members WHERE volunteer_id = ?1
                     ORDER BY call_id DESC LIMIT 50",
                )?
                .query_map([volunteer.0], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let call = c
                    .prepare_cached(&format!("{CALL} WHERE id = ?1"))?
                    .query_row([id], call_row)?;
                if let Some(m) = member(c, id, volunteer.0)? {
                    out.push((call, m));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn insert_qualification(
        &self,
        q: &NewQualification,
        audit: &AuditEntry,
    ) -> Result<QualificationRecord> {
        let (q, audit) = (q.clone(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO qualifications (volunteer_id, kind, title, certificate_number,
                    issuer, valid_until, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7)",
                params![
                    q.volunteer.0,
                    q.kind.as_str(),
                    q.title,
                    q.certificate_number,
                    q.issuer,
                    q.valid_until.map(date_text),
                    micros(q.created_at)
                ],
            )
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            write_audit(tx, &audit, Some(id.to_string()))?;
            get(tx, id)
        })
        .await
    }

    async fn get_qualification(&self, id: i64) -> Result<Option<QualificationRecord>> {
        self.read(move |c| {
            c.prepare_cached(&format!("{SELECT} WHERE q.id = ?1"))?
                .query_row([id], from_row)
                .optional()
        })
        .await
    }

    async fn update_qualification(
        &self,
        q: &QualificationRecord,
        audit: &AuditEntry,
    ) -> Result<QualificationRecord> {
        let (q, audit) = (q.clone(), audit.clone());
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE qualifications SET status = ?3, decided_by = ?4, decided_at = ?5,
                        reason = ?6, version = version + 1
                     WHERE id = ?1 AND version = ?2",
                    params![
                        q.id,
                        q.version,
                        q.status.as_str(),
                        q.decided_by.map(|a| a.0),
                        q.decided_at.map(micros),
                        q.reason
                    ],
                )
                .map_err(store_err)?;
            expect_one(changed)?;
            write_audit(tx, &audit, None)?;
            get(tx, q.id)
        })
        .await
    }

    async fn list_qualifications(
        &self,
        volunteer: VolunteerId,
    ) -> Result<Vec<QualificationRecord>> {
        self.read(move |c| {
            c.prepare_cached(&format!("{SELECT} WHERE q.volunteer_id = ?1 ORDER BY q.id"))?
                .query_map([volunteer.0], from_row)?
                .collect()
        })
        .await
    }

    async fn talent_pool(
        &self,
        q: &PoolQuery,
        page: &PageRequest,
    ) -> Result<Page<QualificationRecord>> {
        let after = page.after.as_ref().map_or(0, |c| c.key(0));
        let (lo, hi) = q.within.subtree();
        let (kind, valid_on, limit) = (q.kind.as_str(), date_text(q.valid_on), page.limit);
        self.read(move |c| {
            let rows = c
                .prepare_cached(&format!(
                    "{SELECT}
                     WHERE q.kind = ?1 AND q.status = 'verified' AND q.id > ?2
                       AND (q.valid_until IS NULL OR q.valid_until >= ?3)
                       AND v.residence_region >= ?4 AND v.residence_region < ?5
                     ORDER BY q.id LIMIT ?6"
                ))?
                .query_map(params![kind, after, valid_on, lo, hi, limit + 1], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |q| vec![q.id]))
        })
        .await
    }
}
