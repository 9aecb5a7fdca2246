//! Service sites.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use zhiyuan_domain::ids::SiteId;
use zhiyuan_domain::site::{GeoPoint, SiteKind};
use zhiyuan_store::{
    AuditEntry, NewSite, Page, PageRequest, Result, SiteQuery, SiteRecord, SiteStore, StoreError,
};

use crate::PgStore;
use crate::conv::{conv, expect_one, get, pg_err, range, region, write_audit};

pub(crate) const COLUMNS: &str =
    "id, region_code, kind, name, address, lat, lng, phone, version, created_at, updated_at";

pub(crate) fn from_row(row: &Row) -> Result<SiteRecord> {
    let lat: Option<f64> = get(row, 5)?;
    let lng: Option<f64> = get(row, 6)?;
    Ok(SiteRecord {
        id: SiteId(get(row, 0)?),
        site: NewSite {
            region: region(row, 1)?,
            kind: conv(row, 2, |s: &str| SiteKind::parse(s))?,
            name: get(row, 3)?,
            address: get(row, 4)?,
            location: GeoPoint::from_columns(lat, lng),
            phone: get(row, 7)?,
        },
        version: get(row, 8)?,
        created_at: get(row, 9)?,
        updated_at: get(row, 10)?,
    })
}

async fn fetch(c: &impl GenericClient, id: i64) -> Result<Option<SiteRecord>> {
    let stmt = c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM sites WHERE id = $1"))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(pg_err)?;
    row.as_ref().map(from_row).transpose()
}

#[async_trait]
impl SiteStore for PgStore {
    async fn insert_site(&self, s: &NewSite, audit: &AuditEntry) -> Result<SiteRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO sites (region_code, kind, name, address, lat, lng, phone,
                    created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &s.region.as_i64(),
                    &s.kind.as_str(),
                    &s.name,
                    &s.address,
                    &s.location.map(|p| p.lat),
                    &s.location.map(|p| p.lng),
                    &s.phone,
                    &audit.at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let record = fetch(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn get_site(&self, id: SiteId) -> Result<Option<SiteRecord>> {
        fetch(&self.client().await?, id.0).await
    }

    async fn update_site(&self, s: &SiteRecord, audit: &AuditEntry) -> Result<SiteRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let n = &s.site;
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE sites SET kind = $3, name = $4, address = $5, lat = $6, lng = $7,
                    phone = $8, updated_at = $9, version = version + 1
                 WHERE id = $1 AND version = $2",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &s.id.0,
                    &s.version,
                    &n.kind.as_str(),
                    &n.name,
                    &n.address,
                    &n.location.map(|p| p.lat),
                    &n.location.map(|p| p.lng),
                    &n.phone,
                    &audit.at,
                ],
            )
            .await
            .map_err(pg_err)?;
        expect_one(changed)?;
        write_audit(&tx, audit, None).await?;
        let record = fetch(&tx, s.id.0).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn list_sites(&self, q: &SiteQuery, page: &PageRequest) -> Result<Page<SiteRecord>> {
        let (lo, hi) = range(q.within);
        let after = page.after.clone().map_or((0, 0), |c| (c.key(0), c.key(1)));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM sites
                 WHERE region_code >= $1 AND region_code < $2 AND (region_code, id) > ($3, $4)
                   AND ($5::TEXT IS NULL OR kind = $5)
                 ORDER BY region_code, id LIMIT $6"
            ))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &lo,
                    &hi,
                    &after.0,
                    &after.1,
                    &q.kind.map(SiteKind::as_str),
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |s| {
            vec![s.site.region.as_i64(), s.id.0]
        }))
    }
}
