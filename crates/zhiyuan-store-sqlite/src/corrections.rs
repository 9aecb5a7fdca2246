//! Corrections and training, award and evaluation entries.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;
use zhiyuan_domain::ids::{AccountId, OrgId, VolunteerId};
use zhiyuan_store::{
    AuditEntry, Corrected, CorrectionId, CorrectionQuery, CorrectionRecord, CorrectionStatus,
    CorrectionStore, DayCap, EntryId, EntryKind, EntryRecord, NewCorrection, NewEntry, NewRecord,
    Page, PageRequest, RecordId, RecordRow, RecordStatus, Result, StoreError,
};

use crate::SqliteStore;
use crate::conv::{
    col, date, date_text, eq_filter, json, micros, opt_time, store_err, time, to_json, write_audit,
};
use crate::records::{self, count, insert_row};

const SELECT: &str = "SELECT id, record_id, volunteer_id, org_id, reason, proposed, status,
    created_at, decided_at, decided_by, decision_note, result_record_id FROM corrections";

fn from_row(row: &Row<'_>) -> rusqlite::Result<CorrectionRecord> {
    Ok(CorrectionRecord {
        id: CorrectionId(row.get(0)?),
        correction: NewCorrection {
            record: row.get::<_, Option<i64>>(1)?.map(RecordId),
            volunteer: VolunteerId(row.get(2)?),
            org: OrgId(row.get(3)?),
            reason: row.get(4)?,
            proposed: json(row, 5)?,
            created_at: time(row, 7)?,
        },
        status: col(row, 6, |s: String| CorrectionStatus::parse(&s))?,
        decided_at: opt_time(row, 8)?,
        decided_by: row.get::<_, Option<i64>>(9)?.map(AccountId),
        decision_note: row.get(10)?,
        result: row.get::<_, Option<i64>>(11)?.map(RecordId),
    })
}

fn get(c: &Connection, id: i64) -> rusqlite::Result<Option<CorrectionRecord>> {
    c.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

const ENTRY_SELECT: &str = "SELECT id, kind, volunteer_id, org_id, name, entry_date, content,
    duration_minutes, issuer, rating, created_at, created_by FROM volunteer_entries";

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<EntryRecord> {
    Ok(EntryRecord {
        id: EntryId(row.get(0)?),
        entry: NewEntry {
            kind: col(row, 1, |s: String| EntryKind::parse(&s))?,
            volunteer: VolunteerId(row.get(2)?),
            org: OrgId(row.get(3)?),
            name: row.get(4)?,
            date: date(row, 5)?,
            content: row.get(6)?,
            duration_minutes: row.get(7)?,
            issuer: row.get(8)?,
            rating: row.get(9)?,
            created_at: time(row, 10)?,
            created_by: row.get::<_, Option<i64>>(11)?.map(AccountId),
        },
    })
}

/// Marks a correction decided.
fn decide(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    status: CorrectionStatus,
    by: Option<AccountId>,
    at: OffsetDateTime,
    note: &Option<String>,
    result: Option<i64>,
) -> Result<()> {
    let changed = tx
        .execute(
            "UPDATE corrections SET status = ?2, decided_at = ?3, decided_by = ?4,
                decision_note = ?5, result_record_id = ?6
             WHERE id = ?1 AND status = 'pending'",
            params![
                id,
                status.as_str(),
                micros(at),
                by.map(|a| a.0),
                note,
                result
            ],
        )
        .map_err(store_err)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict { field: "status" })
    }
}

#[async_trait]
impl CorrectionStore for SqliteStore {
    async fn insert_correction(
        &self,
        c: &NewCorrection,
        audit: &AuditEntry,
    ) -> Result<CorrectionRecord> {
        let (c, audit) = (c.clone(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO corrections (record_id, volunteer_id, org_id, reason, proposed,
                    status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
                params![
                    c.record.map(|r| r.0),
                    c.volunteer.0,
                    c.org.0,
                    c.reason,
                    to_json(&c.proposed),
                    micros(c.created_at)
                ],
            )
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            write_audit(tx, &audit, Some(id.to_string()))?;
            get(tx, id).map_err(store_err)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn get_correction(&self, id: CorrectionId) -> Result<Option<CorrectionRecord>> {
        self.lookup(move |c| get(c, id.0)).await
    }

    async fn list_corrections(
        &self,
        q: &CorrectionQuery,
        page: &PageRequest,
    ) -> Result<Page<CorrectionRecord>> {
        let org = q.org.map(|o| o.0);
        let volunteer = q.volunteer.map(|v| v.0);
        let status = q.status.map(CorrectionStatus::as_str);
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let limit = page.limit;
        let sql = format!(
            "{SELECT} WHERE id < ?1 AND {} AND {} AND (?4 IS NULL OR status = ?4)
             ORDER BY id DESC LIMIT ?5",
            eq_filter("org_id", 2, org.is_some()),
            eq_filter("volunteer_id", 3, volunteer.is_some()),
        );
        self.read(move |c| {
            let rows = c
                .prepare_cached(&sql)?
                .query_map(params![before, org, volunteer, status, limit + 1], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |c| vec![c.id.0]))
        })
        .await
    }

    async fn approve_correction(
        &self,
        id: CorrectionId,
        version: &NewRecord,
        by: Option<AccountId>,
        at: OffsetDateTime,
        note: Option<String>,
        cap: DayCap,
        audit: &AuditEntry,
    ) -> Result<Corrected> {
        let (version, audit) = (version.clone(), audit.clone());
        self.write(move |tx| {
            let c = get(tx, id.0).map_err(store_err)?.ok_or(StoreError::NotFound)?;
            if c.status != CorrectionStatus::Pending {
                return Err(StoreError::Conflict { field: "status" });
            }
            let new_id = match c.correction.record {
                None => insert_row(tx, &version, None, cap)?,
                Some(old_id) => {
                    let old = records::get(tx, old_id.0)
                        .map_err(store_err)?
                        .ok_or(StoreError::NotFound)?;
                    let superseded = tx
                        .execute(
                            "UPDATE service_records SET is_current = 0 WHERE id = ?1 AND is_current = 1",
                            [old_id.0],
                        )
                        .map_err(store_err)?;
                    if superseded != 1 {
                        return Err(StoreError::Conflict { field: "record" });
                    }
                    if old.record.status == RecordStatus::Effective {
                        count(tx, old.record.volunteer, old.record.service_date, -old.record.minutes, -1)?;
                    }
                    insert_row(tx, &version, Some((old.lineage(), old.revision + 1)), cap)?
                }
            };
            decide(tx, id.0, CorrectionStatus::Approved, by, at, &note, Some(new_id))?;
            let mut audit = audit;
            audit.details = serde_json::json!({
                "record": c.correction.record.map(|r| r.0),
                "version": new_id,
                "proposed": c.correction.proposed,
            });
            write_audit(tx, &audit, None)?;
            Ok(Corrected {
                correction: get(tx, id.0).map_err(store_err)?.ok_or(StoreError::NotFound)?,
                record: records::get(tx, new_id)
                    .map_err(store_err)?
                    .ok_or(StoreError::NotFound)?,
            })
        })
        .await
    }

    async fn reject_correction(
        &self,
        id: CorrectionId,
        by: Option<AccountId>,
        at: OffsetDateTime,
        note: Option<String>,
        audit: &AuditEntry,
    ) -> Result<CorrectionRecord> {
        let audit = audit.clone();
        self.write(move |tx| {
            decide(tx, id.0, CorrectionStatus::Rejected, by, at, &note, None)?;
            write_audit(tx, &audit, None)?;
            get(tx, id.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn record_history(&self, lineage: RecordId) -> Result<Vec<RecordRow>> {
        self.lookup(move |c| {
            let ids: Vec<i64> = c
                .prepare_cached(
                    "SELECT id FROM service_records WHERE id = ?1 OR origin_id = ?1 ORDER BY revision",
                )?
                .query_map([lineage.0], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.into_iter()
                .filter_map(|id| records::get(c, id).transpose())
                .collect()
        })
        .await
    }

    async fn insert_entry(&self, e: &NewEntry, audit: &AuditEntry) -> Result<EntryRecord> {
        let (e, audit) = (e.clone(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO volunteer_entries (kind, volunteer_id, org_id, name, entry_date,
                    content, duration_minutes, issuer, rating, created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    e.kind.as_str(),
                    e.volunteer.0,
                    e.org.0,
                    e.name,
                    date_text(e.date),
                    e.content,
                    e.duration_minutes,
                    e.issuer,
                    e.rating,
                    micros(e.created_at),
                    e.created_by.map(|a| a.0)
                ],
            )
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            write_audit(tx, &audit, Some(id.to_string()))?;
            tx.prepare_cached(&format!("{ENTRY_SELECT} WHERE id = ?1"))
                .and_then(|mut s| s.query_row([id], entry_from_row))
                .map_err(store_err)
        })
        .await
    }

    async fn list_entries(
        &self,
        volunteer: VolunteerId,
        kind: Option<EntryKind>,
        page: &PageRequest,
    ) -> Result<Page<EntryRecord>> {
        let kind = kind.map(EntryKind::as_str);
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let limit = page.limit;
        self.read(move |c| {
            let rows = c
                .prepare_cached(&format!(
                    "{ENTRY_SELECT} WHERE volunteer_id = ?1 AND id < ?2 AND (?3 IS NULL OR kind = ?3)
                     ORDER BY id DESC LIMIT ?4"
                ))?
                .query_map(params![volunteer.0, before, kind, limit + 1], entry_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |e| vec![e.id.0]))
        })
        .await
    }
}
