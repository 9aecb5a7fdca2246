//! Reading the audit trail (writing happens in each change's transaction, see `conv`).

use async_trait::async_trait;
use rusqlite::params;
use zhiyuan_domain::ids::AccountId;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::{AuditQuery, AuditRecord, AuditStore, Page, PageRequest, Result};

use crate::SqliteStore;
use crate::conv::{json, time};

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

#[async_trait]
impl AuditStore for SqliteStore {
    async fn list_audit(&self, q: &AuditQuery, page: &PageRequest) -> Result<Page<AuditRecord>> {
        let (lo, hi) = q.within.map_or((0, i64::MAX), RegionCode::subtree);
        let within = q.within.is_some();
        let (stype, sid) = q.subject.clone().unzip();
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let limit = page.limit;
        // The filters given are spelled out, so that their indexes can be used.
        let sql = format!(
            "SELECT id, at, actor_account_id, request_id, action, subject_type, subject_id,
                region_code, reason, details
             FROM audit_log
             WHERE id < ?1 AND {} AND {}
             ORDER BY id DESC LIMIT ?7",
            if within {
                "?2 = 1 AND region_code >= ?3 AND region_code < ?4"
            } else {
                "?2 = 0 AND ?3 <= ?4"
            },
            if stype.is_some() {
                "subject_type = ?5 AND subject_id = ?6"
            } else {
                "?5 IS NULL AND ?6 IS NULL"
            },
        );
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(
                    params![before, within, lo, hi, stype, sid, limit + 1],
                    audit_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |a| vec![a.id]))
        })
        .await
    }
}
