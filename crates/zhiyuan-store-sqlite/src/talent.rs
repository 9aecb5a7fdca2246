//! The talent pool: professional qualifications.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_domain::talent::{QualificationKind, QualificationStatus};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, NewQualification, Page, PageRequest, PoolQuery, QualificationRecord, Result,
    StoreError, TalentStore,
};

use crate::SqliteStore;
use crate::conv::{col, date_text, expect_one, micros, opt_time, store_err, time, write_audit};

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

#[async_trait]
impl TalentStore for SqliteStore {
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
