//! Record certificates.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::{Date, OffsetDateTime};
use tokio_postgres::Row;
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_store::{
    AuditEntry, CertificateRecord, CertificateStore, CertifiedRecord, NewCertificate, Page,
    PageRequest, Result, StoreError, UnitTotal,
};

use zhiyuan_store::ledger::{LedgerKind, certificate_content, certificate_revocation_content};

use crate::PgStore;
use crate::conv::{get, json, pg_err, to_json, write_audit};
use crate::ledger;

const SELECT: &str = "SELECT id, number, volunteer_id, facts, issued_at, revoked_at, revoked_by,
    revoked_reason FROM certificates";

pub(crate) fn from_row(row: &Row) -> Result<CertificateRecord> {
    Ok(CertificateRecord {
        id: get(row, 0)?,
        certificate: NewCertificate {
            number: get(row, 1)?,
            volunteer: VolunteerId(get(row, 2)?),
            facts: json(row, 3)?,
            issued_at: get(row, 4)?,
        },
        revoked_at: get(row, 5)?,
        revoked_by: get::<Option<i64>>(row, 6)?.map(AccountId),
        revoked_reason: get(row, 7)?,
    })
}

/// Certificates in id order after `$1`, `$2` of them, for the ledger audit.
pub(crate) fn page_after_sql() -> String {
    format!("{SELECT} WHERE id > $1 ORDER BY id LIMIT $2")
}

async fn fetch(c: &impl GenericClient, number: &str) -> Result<Option<CertificateRecord>> {
    let stmt = c
        .prepare_cached(&format!("{SELECT} WHERE number = $1"))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&number]).await.map_err(pg_err)?;
    row.as_ref().map(from_row).transpose()
}

/// The period filter shared by the two record queries.
const PERIOD: &str = "r.volunteer_id = $1 AND r.is_current AND r.status = 'effective'
    AND ($2::DATE IS NULL OR r.service_date >= $2) AND ($3::DATE IS NULL OR r.service_date <= $3)";

#[async_trait]
impl CertificateStore for PgStore {
    async fn insert_certificate(
        &self,
        c: &NewCertificate,
        audit: &AuditEntry,
    ) -> Result<CertificateRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        tx.execute(
            &tx.prepare_cached(
                "INSERT INTO certificates (number, volunteer_id, facts, issued_at)
             VALUES ($1, $2, $3, $4)",
            )
            .await
            .map_err(pg_err)?,
            &[&c.number, &c.volunteer.0, &to_json(&c.facts), &c.issued_at],
        )
        .await
        .map_err(pg_err)?;
        write_audit(&tx, audit, Some(c.number.clone())).await?;
        let out = fetch(&tx, &c.number).await?.ok_or(StoreError::NotFound)?;
        ledger::append_if(
            &tx,
            LedgerKind::Certificate,
            out.id,
            certificate_content(&out),
        )
        .await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn get_certificate(&self, number: &str) -> Result<Option<CertificateRecord>> {
        let store = self.clone();
        self.certificates
            .get(number.to_owned(), move |numbers| async move {
                let client = store.batch_client().await?;
                let stmt = client
                    .prepare_cached(&format!("{SELECT} WHERE number = ANY($1)"))
                    .await
                    .map_err(pg_err)?;
                let rows = client.query(&stmt, &[&numbers]).await.map_err(pg_err)?;
                rows.iter()
                    .map(|row| from_row(row).map(|c| (c.certificate.number.clone(), c)))
                    .collect()
            })
            .await
    }

    async fn list_certificates(
        &self,
        volunteer: VolunteerId,
        page: &PageRequest,
    ) -> Result<Page<CertificateRecord>> {
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!(
                        "{SELECT} WHERE volunteer_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
                    ))
                    .await
                    .map_err(pg_err)?,
                &[&volunteer.0, &before, &(i64::from(page.limit) + 1)],
            )
            .await
            .map_err(pg_err)?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |c| vec![c.id]))
    }

    async fn revoke_certificate(
        &self,
        number: &str,
        by: Option<AccountId>,
        at: OffsetDateTime,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<CertificateRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE certificates SET revoked_at = $2, revoked_by = $3, revoked_reason = $4
                 WHERE number = $1 AND revoked_at IS NULL",
                )
                .await
                .map_err(pg_err)?,
                &[&number, &at, &by.map(|a| a.0), &reason],
            )
            .await
            .map_err(pg_err)?;
        if changed != 1 {
            return Err(StoreError::Conflict { field: "status" });
        }
        write_audit(&tx, audit, None).await?;
        let out = fetch(&tx, number).await?.ok_or(StoreError::NotFound)?;
        let content = certificate_revocation_content(&out);
        ledger::append_if(&tx, LedgerKind::CertificateRevocation, out.id, content).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn record_units(
        &self,
        volunteer: VolunteerId,
        from: Option<Date>,
        until: Option<Date>,
    ) -> Result<Vec<UnitTotal>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!(
                    "SELECT o.id, o.name, sum(r.minutes)::BIGINT, count(*) FROM service_records r
                     JOIN organisations o ON o.id = r.org_id
                     WHERE {PERIOD} GROUP BY o.id, o.name ORDER BY 3 DESC, o.id"
                ))
                    .await
                    .map_err(pg_err)?,
                &[&volunteer.0, &from, &until],
            )
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                Ok(UnitTotal {
                    org: get(r, 0)?,
                    name: get(r, 1)?,
                    minutes: get(r, 2)?,
                    records: get(r, 3)?,
                })
            })
            .collect()
    }

    async fn certified_records(
        &self,
        volunteer: VolunteerId,
        from: Option<Date>,
        until: Option<Date>,
        limit: u32,
    ) -> Result<Vec<CertifiedRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!(
                        "SELECT r.service_date, r.activity_name, r.content, r.minutes, o.name
                     FROM service_records r JOIN organisations o ON o.id = r.org_id
                     WHERE {PERIOD} ORDER BY r.service_date, r.id LIMIT $4"
                    ))
                    .await
                    .map_err(pg_err)?,
                &[&volunteer.0, &from, &until, &i64::from(limit)],
            )
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                Ok(CertifiedRecord {
                    date: get(r, 0)?,
                    activity: get(r, 1)?,
                    content: get(r, 2)?,
                    minutes: get(r, 3)?,
                    unit: get(r, 4)?,
                })
            })
            .collect()
    }
}
