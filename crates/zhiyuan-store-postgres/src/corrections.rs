//! Corrections and training, award and evaluation entries.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use zhiyuan_domain::ids::{AccountId, OrgId, VolunteerId};
use zhiyuan_store::{
    AuditEntry, Corrected, CorrectionId, CorrectionQuery, CorrectionRecord, CorrectionStatus,
    CorrectionStore, DayCap, EntryId, EntryKind, EntryRecord, NewCorrection, NewEntry, NewRecord,
    Page, PageRequest, RecordId, RecordRow, RecordStatus, Result, StoreError,
};

use crate::PgStore;
use crate::conv::{conv, eq_filter, get, json, pg_err, to_json, write_audit};
use crate::records::{count, fetch as fetch_record, insert_row};

const SELECT: &str = "SELECT id, record_id, volunteer_id, org_id, reason, proposed, status,
    created_at, decided_at, decided_by, decision_note, result_record_id FROM corrections";

fn from_row(row: &Row) -> Result<CorrectionRecord> {
    Ok(CorrectionRecord {
        id: CorrectionId(get(row, 0)?),
        correction: NewCorrection {
            record: get::<Option<i64>>(row, 1)?.map(RecordId),
            volunteer: VolunteerId(get(row, 2)?),
            org: OrgId(get(row, 3)?),
            reason: get(row, 4)?,
            proposed: json(row, 5)?,
            created_at: get(row, 7)?,
        },
        status: conv(row, 6, |s: &str| CorrectionStatus::parse(s))?,
        decided_at: get(row, 8)?,
        decided_by: get::<Option<i64>>(row, 9)?.map(AccountId),
        decision_note: get(row, 10)?,
        result: get::<Option<i64>>(row, 11)?.map(RecordId),
    })
}

async fn fetch(c: &impl GenericClient, id: i64, lock: bool) -> Result<Option<CorrectionRecord>> {
    let sql = format!(
        "{SELECT} WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let stmt = c.prepare_cached(&sql).await.map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(pg_err)?;
    row.as_ref().map(from_row).transpose()
}

const ENTRY_SELECT: &str = "SELECT id, kind, volunteer_id, org_id, name, entry_date, content,
    duration_minutes, issuer, rating, created_at, created_by FROM volunteer_entries";

fn entry_from_row(row: &Row) -> Result<EntryRecord> {
    Ok(EntryRecord {
        id: EntryId(get(row, 0)?),
        entry: NewEntry {
            kind: conv(row, 1, |s: &str| EntryKind::parse(s))?,
            volunteer: VolunteerId(get(row, 2)?),
            org: OrgId(get(row, 3)?),
            name: get(row, 4)?,
            date: get(row, 5)?,
            content: get(row, 6)?,
            duration_minutes: get(row, 7)?,
            issuer: get(row, 8)?,
            rating: get(row, 9)?,
            created_at: get(row, 10)?,
            created_by: get::<Option<i64>>(row, 11)?.map(AccountId),
        },
    })
}

async fn decide(
    c: &impl GenericClient,
    id: i64,
    status: CorrectionStatus,
    by: Option<AccountId>,
    at: OffsetDateTime,
    note: &Option<String>,
    result: Option<i64>,
) -> Result<()> {
    let changed = c
        .execute(
            &c.prepare_cached(
                "UPDATE corrections SET status = $2, decided_at = $3, decided_by = $4,
                decision_note = $5, result_record_id = $6
             WHERE id = $1 AND status = 'pending'",
            )
            .await
            .map_err(pg_err)?,
            &[&id, &status.as_str(), &at, &by.map(|a| a.0), note, &result],
        )
        .await
        .map_err(pg_err)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict { field: "status" })
    }
}

#[async_trait]
impl CorrectionStore for PgStore {
    async fn insert_correction(
        &self,
        c: &NewCorrection,
        audit: &AuditEntry,
    ) -> Result<CorrectionRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO corrections (record_id, volunteer_id, org_id, reason, proposed,
                    status, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &c.record.map(|r| r.0),
                    &c.volunteer.0,
                    &c.org.0,
                    &c.reason,
                    &to_json(&c.proposed),
                    &c.created_at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let out = fetch(&tx, id, false).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn get_correction(&self, id: CorrectionId) -> Result<Option<CorrectionRecord>> {
        fetch(&self.client().await?, id.0, false).await
    }

    async fn list_corrections(
        &self,
        q: &CorrectionQuery,
        page: &PageRequest,
    ) -> Result<Page<CorrectionRecord>> {
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "{SELECT} WHERE id < $1 AND {} AND {} AND ($4::TEXT IS NULL OR status = $4)
                 ORDER BY id DESC LIMIT $5",
                eq_filter("org_id", 2, "BIGINT", q.org.is_some()),
                eq_filter("volunteer_id", 3, "BIGINT", q.volunteer.is_some()),
            ))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &before,
                    &q.org.map(|o| o.0),
                    &q.volunteer.map(|v| v.0),
                    &q.status.map(CorrectionStatus::as_str),
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |c| vec![c.id.0]))
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
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let c = fetch(&tx, id.0, true).await?.ok_or(StoreError::NotFound)?;
        if c.status != CorrectionStatus::Pending {
            return Err(StoreError::Conflict { field: "status" });
        }
        let new_id = match c.correction.record {
            None => insert_row(&tx, version, None, cap).await?,
            Some(old_id) => {
                let old = fetch_record(&tx, old_id.0)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                let superseded = tx
                    .execute(
                        &tx.prepare_cached("UPDATE service_records SET is_current = FALSE WHERE id = $1 AND is_current").await.map_err(pg_err)?,
                        &[&old_id.0],
                    )
                    .await
                    .map_err(pg_err)?;
                if superseded != 1 {
                    return Err(StoreError::Conflict { field: "record" });
                }
                if old.record.status == RecordStatus::Effective {
                    count(
                        &tx,
                        old.record.volunteer,
                        old.record.service_date,
                        -old.record.minutes,
                        -1,
                    )
                    .await?;
                }
                insert_row(&tx, version, Some((old.lineage(), old.revision + 1)), cap).await?
            }
        };
        decide(
            &tx,
            id.0,
            CorrectionStatus::Approved,
            by,
            at,
            &note,
            Some(new_id),
        )
        .await?;
        let mut audit = audit.clone();
        audit.details = serde_json::json!({
            "record": c.correction.record.map(|r| r.0),
            "version": new_id,
            "proposed": c.correction.proposed,
        });
        write_audit(&tx, &audit, None).await?;
        let out = Corrected {
            correction: fetch(&tx, id.0, false).await?.ok_or(StoreError::NotFound)?,
            record: fetch_record(&tx, new_id)
                .await?
                .ok_or(StoreError::NotFound)?,
        };
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn reject_correction(
        &self,
        id: CorrectionId,
        by: Option<AccountId>,
        at: OffsetDateTime,
        note: Option<String>,
        audit: &AuditEntry,
    ) -> Result<CorrectionRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        decide(&tx, id.0, CorrectionStatus::Rejected, by, at, &note, None).await?;
        write_audit(&tx, audit, None).await?;
        let out = fetch(&tx, id.0, false).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn record_history(&self, lineage: RecordId) -> Result<Vec<RecordRow>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client.prepare_cached("SELECT id FROM service_records WHERE id = $1 OR origin_id = $1 ORDER BY revision").await.map_err(pg_err)?,
                &[&lineage.0],
            )
            .await
            .map_err(pg_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = get(&row, 0)?;
            if let Some(r) = fetch_record(&client, id).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    async fn insert_entry(&self, e: &NewEntry, audit: &AuditEntry) -> Result<EntryRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO volunteer_entries (kind, volunteer_id, org_id, name, entry_date,
                    content, duration_minutes, issuer, rating, created_at, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &e.kind.as_str(),
                    &e.volunteer.0,
                    &e.org.0,
                    &e.name,
                    &e.date,
                    &e.content,
                    &e.duration_minutes,
                    &e.issuer,
                    &e.rating,
                    &e.created_at,
                    &e.created_by.map(|a| a.0),
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let row = tx
            .query_one(
                &tx.prepare_cached(&format!("{ENTRY_SELECT} WHERE id = $1"))
                    .await
                    .map_err(pg_err)?,
                &[&id],
            )
            .await
            .map_err(pg_err)?;
        let out = entry_from_row(&row)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn list_entries(
        &self,
        volunteer: VolunteerId,
        kind: Option<EntryKind>,
        page: &PageRequest,
    ) -> Result<Page<EntryRecord>> {
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "{ENTRY_SELECT} WHERE volunteer_id = $1 AND id < $2
                   AND ($3::TEXT IS NULL OR kind = $3)
                 ORDER BY id DESC LIMIT $4"
            ))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &volunteer.0,
                    &before,
                    &kind.map(EntryKind::as_str),
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |e| vec![e.id.0]))
    }
}
