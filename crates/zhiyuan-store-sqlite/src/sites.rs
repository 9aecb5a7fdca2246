//! Service sites.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use zhiyuan_domain::ids::SiteId;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::site::{GeoPoint, SiteKind};
use zhiyuan_store::{
    AuditEntry, NewSite, Page, PageRequest, Result, SiteQuery, SiteRecord, SiteStore, StoreError,
};

use crate::SqliteStore;
use crate::conv::{col, expect_one, micros, region, store_err, time, write_audit};

pub(crate) const COLUMNS: &str =
    "id, region_code, kind, name, address, lat, lng, phone, version, created_at, updated_at";

pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<SiteRecord> {
    let lat: Option<f64> = row.get(5)?;
    let lng: Option<f64> = row.get(6)?;
    Ok(SiteRecord {
        id: SiteId(row.get(0)?),
        site: NewSite {
            region: region(row, 1)?,
            kind: col(row, 2, |s: String| SiteKind::parse(&s))?,
            name: row.get(3)?,
            address: row.get(4)?,
            location: GeoPoint::from_columns(lat, lng),
            phone: row.get(7)?,
        },
        version: row.get(8)?,
        created_at: time(row, 9)?,
        updated_at: time(row, 10)?,
    })
}

fn get(c: &rusqlite::Connection, id: i64) -> rusqlite::Result<Option<SiteRecord>> {
    c.prepare_cached(&format!("SELECT {COLUMNS} FROM sites WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

#[async_trait]
impl SiteStore for SqliteStore {
    async fn insert_site(&self, s: &NewSite, audit: &AuditEntry) -> Result<SiteRecord> {
        let (s, audit) = (s.clone(), audit.clone());
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO sites (region_code, kind, name, address, lat, lng, phone,
                    created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    s.region.as_i64(),
                    s.kind.as_str(),
                    s.name,
                    s.address,
                    s.location.map(|p| p.lat),
                    s.location.map(|p| p.lng),
                    s.phone,
                    micros(audit.at)
                ])
            })
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            write_audit(tx, &audit, Some(id.to_string()))?;
            get(tx, id).map_err(store_err)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn get_site(&self, id: SiteId) -> Result<Option<SiteRecord>> {
        self.lookup(move |c| get(c, id.0)).await
    }

    async fn update_site(&self, s: &SiteRecord, audit: &AuditEntry) -> Result<SiteRecord> {
        let (s, audit) = (s.clone(), audit.clone());
        self.write(move |tx| {
            let n = &s.site;
            let changed = tx
                .execute(
                    "UPDATE sites SET kind = ?3, name = ?4, address = ?5, lat = ?6, lng = ?7,
                        phone = ?8, updated_at = ?9, version = version + 1
                     WHERE id = ?1 AND version = ?2",
                    params![
                        s.id.0,
                        s.version,
                        n.kind.as_str(),
                        n.name,
                        n.address,
                        n.location.map(|p| p.lat),
                        n.location.map(|p| p.lng),
                        n.phone,
                        micros(audit.at)
                    ],
                )
                .map_err(store_err)?;
            expect_one(changed)?;
            write_audit(tx, &audit, None)?;
            get(tx, s.id.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn list_sites(&self, q: &SiteQuery, page: &PageRequest) -> Result<Page<SiteRecord>> {
        let (lo, hi) = q.within.map_or((0, i64::MAX), RegionCode::subtree);
        let kind = q.kind.map(SiteKind::as_str);
        let after = page.after.clone().map_or((0, 0), |c| (c.key(0), c.key(1)));
        let limit = page.limit;
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM sites
                 WHERE region_code >= ?1 AND region_code < ?2 AND (region_code, id) > (?3, ?4)
                   AND (?5 IS NULL OR kind = ?5)
                 ORDER BY region_code, id LIMIT ?6"
            ))?;
            let rows = stmt
                .query_map(params![lo, hi, after.0, after.1, kind, limit + 1], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |s| {
                vec![s.site.region.as_i64(), s.id.0]
            }))
        })
        .await
    }
}
