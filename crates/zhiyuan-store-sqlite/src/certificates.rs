//! Record certificates.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::{Date, OffsetDateTime};
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_store::{
    AuditEntry, CertificateRecord, CertificateStore, CertifiedRecord, NewCertificate, Page,
    PageRequest, Result, StoreError, UnitTotal,
};

use zhiyuan_store::ledger::{LedgerKind, certificate_content, certificate_revocation_content};

use crate::SqliteStore;
use crate::conv::{date, date_text, json, micros, opt_time, store_err, time, to_json, write_audit};
use crate::ledger;

const SELECT: &str = "SELECT id, number, volunteer_id, facts, issued_at, revoked_at, revoked_by,
    revoked_reason FROM certificates";

fn from_row(row: &Row<'_>) -> rusqlite::Result<CertificateRecord> {
    Ok(CertificateRecord {
        id: row.get(0)?,
        certificate: NewCertificate {
            number: row.get(1)?,
            volunteer: VolunteerId(row.get(2)?),
            facts: json(row, 3)?,
            issued_at: time(row, 4)?,
        },
        revoked_at: opt_time(row, 5)?,
        revoked_by: row.get::<_, Option<i64>>(6)?.map(AccountId),
        revoked_reason: row.get(7)?,
    })
}

/// Certificates in id order after `after`, for the ledger audit.
pub(crate) fn page_after(
    c: &Connection,
    after: i64,
    limit: u32,
) -> rusqlite::Result<Vec<CertificateRecord>> {
    c.prepare_cached(&format!("{SELECT} WHERE id > ?1 ORDER BY id LIMIT ?2"))?
        .query_map(params![after, limit], from_row)?
        .collect()
}

fn get(c: &Connection, number: &str) -> rusqlite::Result<Option<CertificateRecord>> {
    c.prepare_cached(&format!("{SELECT} WHERE number = ?1"))?
        .query_row([number], from_row)
        .optional()
}

/// The period filter shared by the two record queries.
const PERIOD: &str = "r.volunteer_id = ?1 AND r.is_current = 1 AND r.status = 'effective'
    AND (?2 IS NULL OR r.service_date >= ?2) AND (?3 IS NULL OR r.service_date <= ?3)";

#[async_trait]
impl CertificateStore for SqliteStore {
    async fn insert_certificate(
        &self,
        c: &NewCertificate,
        audit: &AuditEntry,
    ) -> Result<CertificateRecord> {
        let (c, audit) = (c.clone(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO certificates (number, volunteer_id, facts, issued_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    c.number,
                    c.volunteer.0,
                    to_json(&c.facts),
                    micros(c.issued_at)
                ],
            )
            .map_err(store_err)?;
            write_audit(tx, &audit, Some(c.number.clone()))?;
            let cert = get(tx, &c.number)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)?;
            let content = certificate_content(&cert);
            ledger::append_if(tx, LedgerKind::Certificate, cert.id, content)?;
            Ok(cert)
        })
        .await
    }

    async fn get_certificate(&self, number: &str) -> Result<Option<CertificateRecord>> {
        let number = number.to_owned();
        self.lookup(move |c| get(c, &number)).await
    }

    async fn list_certificates(
        &self,
        volunteer: VolunteerId,
        page: &PageRequest,
    ) -> Result<Page<CertificateRecord>> {
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let limit = page.limit;
        self.read(move |c| {
            let rows = c
                .prepare_cached(&format!(
                    "{SELECT} WHERE volunteer_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
                ))?
                .query_map(params![volunteer.0, before, limit + 1], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |c| vec![c.id]))
        })
        .await
    }

    async fn revoke_certificate(
        &self,
        number: &str,
        by: Option<AccountId>,
        at: OffsetDateTime,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<CertificateRecord> {
        let (number, reason, audit) = (number.to_owned(), reason.to_owned(), audit.clone());
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE certificates SET revoked_at = ?2, revoked_by = ?3, revoked_reason = ?4
                     WHERE number = ?1 AND revoked_at IS NULL",
                    params![number, micros(at), by.map(|a| a.0), reason],
                )
                .map_err(store_err)?;
            if changed != 1 {
                return Err(StoreError::Conflict { field: "status" });
            }
            write_audit(tx, &audit, None)?;
            let cert = get(tx, &number)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)?;
            let content = certificate_revocation_content(&cert);
            ledger::append_if(tx, LedgerKind::CertificateRevocation, cert.id, content)?;
            Ok(cert)
        })
        .await
    }

    async fn record_units(
        &self,
        volunteer: VolunteerId,
        from: Option<Date>,
        until: Option<Date>,
    ) -> Result<Vec<UnitTotal>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT o.id, o.name, sum(r.minutes), count(*) FROM service_records r
                 JOIN organisations o ON o.id = r.org_id
                 WHERE {PERIOD} GROUP BY o.id, o.name ORDER BY sum(r.minutes) DESC, o.id"
            ))?
            .query_map(
                params![volunteer.0, from.map(date_text), until.map(date_text)],
                |r| {
                    Ok(UnitTotal {
                        org: r.get(0)?,
                        name: r.get(1)?,
                        minutes: r.get(2)?,
                        records: r.get(3)?,
                    })
                },
            )?
            .collect()
        })
        .await
    }

    async fn certified_records(
        &self,
        volunteer: VolunteerId,
        from: Option<Date>,
        until: Option<Date>,
        limit: u32,
    ) -> Result<Vec<CertifiedRecord>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT r.service_date, r.activity_name, r.content, r.minutes, o.name
                 FROM service_records r JOIN organisations o ON o.id = r.org_id
                 WHERE {PERIOD} ORDER BY r.service_date, r.id LIMIT ?4"
            ))?
            .query_map(
                params![
                    volunteer.0,
                    from.map(date_text),
                    until.map(date_text),
                    limit
                ],
                |r| {
                    Ok(CertifiedRecord {
                        date: date(r, 0)?,
                        activity: r.get(1)?,
                        content: r.get(2)?,
                        minutes: r.get(3)?,
                        unit: r.get(4)?,
                    })
                },
            )?
            .collect()
        })
        .await
    }
}
