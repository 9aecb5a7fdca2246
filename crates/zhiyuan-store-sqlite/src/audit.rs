//! Reading the audit trail (writing happens in each change's transaction, see `conv`).

use async_trait::async_trait;
use rusqlite::params;
use zhiyuan_domain::ids::AccountId;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::{AuditQuery, AuditRecord, AuditStore, Page, PageRequest, Result};

use crate::SqliteStore;
use crate::conv::{json, time, within_filter};

/// The columns an [`audit_row`] reads, in order.
pub(crate) const AUDIT_COLUMNS: &str = "id, at, actor_account_id, request_id, action,
    subject_type, subject_id, region_code, reason, details";

pub(crate) fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        id: r.get(0)?,
        at: time(r, 1)?,
        actor: r.get::<_, Option<i64>>(2)?.map(AccountId),
        request_id: r.get(3)?,
        action: r.get(4)?,
        subject_type: r.get(5)?,
        subject_id: r.get(6)?,
        region: r.get::<_, Option<i64>>(7)?.and_then(RegionCode::from_i64),
        reason: r.get(8)?,
        details: json(r, 9)?,
    })
}

/// The audit log newest first, of a region and/or a subject: the filters given are
/// spelled out, so that their indexes can be used. A change filed in several trails
/// shows once in each: a copy (migration 0033) only where its first entry is not.
pub(crate) fn list_sql(within: Option<RegionCode>, by_subject: bool) -> String {
    format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log
         WHERE id < ?1 AND {} AND {} AND {}
         ORDER BY id DESC LIMIT ?6",
        within_filter("region_code", 2, 3, within),
        if by_subject {
            "subject_type = ?4 AND subject_id = ?5"
        } else {
            "?4 IS NULL AND ?5 IS NULL"
        },
        match within {
            Some(_) => "(copy_of_region IS NULL OR copy_of_region < ?2 OR copy_of_region >= ?3)",
            None => "copy_of_region IS NULL",
        },
    )
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn list_audit(&self, q: &AuditQuery, page: &PageRequest) -> Result<Page<AuditRecord>> {
        let (lo, hi) = q.within.map(RegionCode::subtree).unzip();
        let (stype, sid) = q.subject.clone().unzip();
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let limit = page.limit;
        let sql = list_sql(q.within, stype.is_some());
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(params![before, lo, hi, stype, sid, limit + 1], audit_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |a| vec![a.id]))
        })
        .await
    }
}
