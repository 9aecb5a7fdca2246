//! Reading the audit trail (writing happens in each change's transaction, see `conv`).

use async_trait::async_trait;
use zhiyuan_domain::ids::AccountId;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::{AuditQuery, AuditRecord, AuditStore, Page, PageRequest, Result};

use crate::PgStore;
use crate::conv::{get, pg_err, within_filter};

/// The columns an [`audit_row`] reads, in order.
pub(crate) const AUDIT_COLUMNS: &str = "id, at, actor_account_id, request_id, action,
    subject_type, subject_id, region_code, reason, details";

pub(crate) fn audit_row(r: &tokio_postgres::Row) -> Result<AuditRecord> {
    Ok(AuditRecord {
        id: get(r, 0)?,
        at: get(r, 1)?,
        actor: get::<Option<i64>>(r, 2)?.map(AccountId),
        request_id: get(r, 3)?,
        action: get(r, 4)?,
        subject_type: get(r, 5)?,
        subject_id: get(r, 6)?,
        region: get::<Option<i64>>(r, 7)?.and_then(RegionCode::from_i64),
        reason: get(r, 8)?,
        details: get(r, 9)?,
    })
}

/// The audit log newest first, of a region and/or a subject (see
/// [`crate::conv::eq_filter`]). A change filed in several trails shows once in each: a
/// copy (migration 0033) only where its first entry is not.
pub(crate) fn list_sql(within: bool, by_subject: bool) -> String {
    format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log
         WHERE id < $1 AND {} AND {} AND {}
         ORDER BY id DESC LIMIT $6",
        within_filter("region_code", 2, 3, within),
        if by_subject {
            "subject_type = $4 AND subject_id = $5"
        } else {
            "$4::TEXT IS NULL AND $5::TEXT IS NULL"
        },
        match within {
            true => "(copy_of_region IS NULL OR copy_of_region < $2 OR copy_of_region >= $3)",
            false => "copy_of_region IS NULL",
        },
    )
}

#[async_trait]
impl AuditStore for PgStore {
    async fn list_audit(&self, q: &AuditQuery, page: &PageRequest) -> Result<Page<AuditRecord>> {
        let (lo, hi) = q.within.map(RegionCode::subtree).unzip();
        let (stype, sid) = q.subject.clone().unzip();
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&list_sql(q.within.is_some(), stype.is_some()))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &before,
                    &lo,
                    &hi,
                    &stype,
                    &sid,
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows.iter().map(audit_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |a| vec![a.id]))
    }
}
