//! Regions.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use zhiyuan_domain::region::{Region, RegionCode};
use zhiyuan_store::{AuditEntry, Page, PageRequest, RegionQuery, RegionStore, Result};

use crate::SqliteStore;
use crate::conv::{eq_filter, micros, region, store_err, write_audit};

fn insert(tx: &rusqlite::Transaction<'_>, r: &Region, now: i64) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "INSERT INTO regions (code, parent_code, level, name, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (code) DO NOTHING",
    )?
    .execute(params![
        r.code.as_i64(),
        r.parent().map(RegionCode::as_i64),
        r.level() as i64,
        r.name,
        now
    ])
}

#[async_trait]
impl RegionStore for SqliteStore {
    async fn insert_region(&self, r: &Region, audit: &AuditEntry) -> Result<()> {
        let (r, audit) = (r.clone(), audit.clone());
        self.write(move |tx| {
            if insert(tx, &r, micros(audit.at)).map_err(store_err)? == 0 {
                return Err(zhiyuan_store::StoreError::Conflict { field: "code" });
            }
            write_audit(tx, &audit, None)
        })
        .await
    }

    async fn ensure_regions(&self, regions: &[Region]) -> Result<usize> {
        let regions = regions.to_vec();
        self.write(move |tx| {
            let now = micros(time::OffsetDateTime::now_utc());
            let mut added = 0;
            for r in &regions {
                added += insert(tx, r, now).map_err(store_err)?;
            }
            Ok(added)
        })
        .await
    }

    async fn get_region(&self, code: RegionCode) -> Result<Option<Region>> {
        self.lookup(move |c| {
            c.prepare_cached("SELECT code, name FROM regions WHERE code = ?1")?
                .query_row([code.as_i64()], |row| {
                    Ok(Region {
                        code: region(row, 0)?,
                        name: row.get(1)?,
                    })
                })
                .optional()
        })
        .await
    }

    async fn rename_region(&self, r: &Region, audit: &AuditEntry) -> Result<()> {
        let (r, audit) = (r.clone(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "UPDATE regions SET name = ?2, updated_at = ?3 WHERE code = ?1",
                params![r.code.as_i64(), r.name, micros(audit.at)],
            )
            .map_err(store_err)?;
            write_audit(tx, &audit, None)
        })
        .await
    }

    async fn list_regions(&self, q: &RegionQuery, page: &PageRequest) -> Result<Page<Region>> {
        let (lo, hi) = q.within.map_or((0, i64::MAX), RegionCode::subtree);
        let parent = q.parent.map(RegionCode::as_i64);
        let level = q.level.map(|l| l as i64);
        let after = page.after.as_ref().map_or(0, |c| c.key(0));
        let limit = page.limit;
        let sql = format!(
            "SELECT code, name FROM regions
             WHERE code >= ?1 AND code < ?2 AND code > ?3
               AND {} AND (?5 IS NULL OR level = ?5)
             ORDER BY code LIMIT ?6",
            eq_filter("parent_code", 4, parent.is_some()),
        );
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(params![lo, hi, after, parent, level, limit + 1], |row| {
                    Ok(Region {
                        code: region(row, 0)?,
                        name: row.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |r| vec![r.code.as_i64()]))
        })
        .await
    }
}
