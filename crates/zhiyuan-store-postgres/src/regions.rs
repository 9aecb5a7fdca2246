//! Regions.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use zhiyuan_domain::region::{Region, RegionCode};
use zhiyuan_store::{AuditEntry, Page, PageRequest, RegionQuery, RegionStore, Result, StoreError};

use crate::PgStore;
use crate::conv::{eq_filter, get, pg_err, range, region, write_audit};

const INSERT: &str = "INSERT INTO regions (code, parent_code, level, name, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (code) DO NOTHING";

async fn insert(c: &impl GenericClient, r: &Region, now: time::OffsetDateTime) -> Result<u64> {
    let stmt = c.prepare_cached(INSERT).await.map_err(pg_err)?;
    c.execute(
        &stmt,
        &[
            &r.code.as_i64(),
            &r.parent().map(RegionCode::as_i64),
            &(r.level() as i16),
            &r.name,
            &now,
        ],
    )
    .await
    .map_err(pg_err)
}

fn from_row(row: &tokio_postgres::Row) -> Result<Region> {
    Ok(Region {
        code: region(row, 0)?,
        name: get(row, 1)?,
    })
}

#[async_trait]
impl RegionStore for PgStore {
    async fn insert_region(&self, r: &Region, audit: &AuditEntry) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        if insert(&tx, r, audit.at).await? == 0 {
            return Err(StoreError::Conflict { field: "code" });
        }
        write_audit(&tx, audit, None).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn ensure_regions(&self, regions: &[Region]) -> Result<usize> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let now = time::OffsetDateTime::now_utc();
        let mut added = 0;
        for r in regions {
            added += insert(&tx, r, now).await? as usize;
        }
        tx.commit().await.map_err(pg_err)?;
        Ok(added)
    }

    async fn get_region(&self, code: RegionCode) -> Result<Option<Region>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT code, name FROM regions WHERE code = $1")
            .await
            .map_err(pg_err)?;
        let row = client
            .query_opt(&stmt, &[&code.as_i64()])
            .await
            .map_err(pg_err)?;
        row.as_ref().map(from_row).transpose()
    }

    async fn rename_region(&self, r: &Region, audit: &AuditEntry) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        tx.execute(
            &tx.prepare_cached("UPDATE regions SET name = $2, updated_at = $3 WHERE code = $1")
                .await
                .map_err(pg_err)?,
            &[&r.code.as_i64(), &r.name, &audit.at],
        )
        .await
        .map_err(pg_err)?;
        write_audit(&tx, audit, None).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn list_regions(&self, q: &RegionQuery, page: &PageRequest) -> Result<Page<Region>> {
        let (lo, hi) = range(q.within);
        let after = page.after.as_ref().map_or(0, |c| c.key(0));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT code, name FROM regions
                 WHERE code >= $1 AND code < $2 AND code > $3 AND {}
                   AND ($5::SMALLINT IS NULL OR level = $5)
                 ORDER BY code LIMIT $6",
                eq_filter("parent_code", 4, "BIGINT", q.parent.is_some()),
            ))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &lo,
                    &hi,
                    &after,
                    &q.parent.map(RegionCode::as_i64),
                    &q.level.map(|l| l as i16),
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |r| {
            vec![r.code.as_i64()]
        }))
    }
}
