//! The talent pool: professional qualifications.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_domain::talent::{QualificationKind, QualificationStatus};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, NewQualification, Page, PageRequest, PoolQuery, QualificationRecord, Result,
    StoreError, TalentStore,
};

use crate::PgStore;
use crate::conv::{conv, expect_one, get, pg_err, write_audit};

const SELECT: &str = "SELECT q.id, q.volunteer_id, q.kind, q.title, q.certificate_number,
    q.issuer, q.valid_until, q.status, q.decided_by, q.decided_at, q.reason, q.created_at,
    q.version, v.number, v.name
    FROM qualifications q JOIN volunteers v ON v.id = q.volunteer_id";

fn from_row(row: &Row) -> Result<QualificationRecord> {
    Ok(QualificationRecord {
        id: get(row, 0)?,
        qualification: NewQualification {
            volunteer: VolunteerId(get(row, 1)?),
            kind: conv(row, 2, |s: &str| QualificationKind::parse(s))?,
            title: get(row, 3)?,
            certificate_number: get(row, 4)?,
            issuer: get(row, 5)?,
            valid_until: get(row, 6)?,
            created_at: get(row, 11)?,
        },
        status: conv(row, 7, |s: &str| QualificationStatus::parse(s))?,
        decided_by: get::<Option<i64>>(row, 8)?.map(AccountId),
        decided_at: get(row, 9)?,
        reason: get(row, 10)?,
        volunteer_number: conv(row, 13, VolunteerNumber::from_i64)?,
        volunteer_name: get(row, 14)?,
        version: get(row, 12)?,
    })
}

async fn fetch(c: &impl GenericClient, id: i64) -> Result<Option<QualificationRecord>> {
    let stmt = c
        .prepare_cached(&format!("{SELECT} WHERE q.id = $1"))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(pg_err)?;
    row.as_ref().map(from_row).transpose()
}

#[async_trait]
impl TalentStore for PgStore {
    async fn insert_qualification(
        &self,
        q: &NewQualification,
        audit: &AuditEntry,
    ) -> Result<QualificationRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                "INSERT INTO qualifications (volunteer_id, kind, title, certificate_number,
                    issuer, valid_until, status, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7) RETURNING id",
                &[
                    &q.volunteer.0,
                    &q.kind.as_str(),
                    &q.title,
                    &q.certificate_number,
                    &q.issuer,
                    &q.valid_until,
                    &q.created_at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let out = fetch(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn get_qualification(&self, id: i64) -> Result<Option<QualificationRecord>> {
        fetch(&self.client().await?, id).await
    }

    async fn update_qualification(
        &self,
        q: &QualificationRecord,
        audit: &AuditEntry,
    ) -> Result<QualificationRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let changed = tx
            .execute(
                "UPDATE qualifications SET status = $3, decided_by = $4, decided_at = $5,
                    reason = $6, version = version + 1
                 WHERE id = $1 AND version = $2",
                &[
                    &q.id,
                    &q.version,
                    &q.status.as_str(),
                    &q.decided_by.map(|a| a.0),
                    &q.decided_at,
                    &q.reason,
                ],
            )
            .await
            .map_err(pg_err)?;
        expect_one(changed)?;
        write_audit(&tx, audit, None).await?;
        let out = fetch(&tx, q.id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn list_qualifications(
        &self,
        volunteer: VolunteerId,
    ) -> Result<Vec<QualificationRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("{SELECT} WHERE q.volunteer_id = $1 ORDER BY q.id"),
                &[&volunteer.0],
            )
            .await
            .map_err(pg_err)?;
        rows.iter().map(from_row).collect()
    }

    async fn talent_pool(
        &self,
        q: &PoolQuery,
        page: &PageRequest,
    ) -> Result<Page<QualificationRecord>> {
        let after = page.after.as_ref().map_or(0, |c| c.key(0));
        let (lo, hi) = q.within.subtree();
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "{SELECT}
                     WHERE q.kind = $1 AND q.status = 'verified' AND q.id > $2
                       AND (q.valid_until IS NULL OR q.valid_until >= $3)
                       AND v.residence_region >= $4 AND v.residence_region < $5
                     ORDER BY q.id LIMIT $6"
                ),
                &[
                    &q.kind.as_str(),
                    &after,
                    &q.valid_on,
                    &lo,
                    &hi,
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |q| vec![q.id]))
    }
}
