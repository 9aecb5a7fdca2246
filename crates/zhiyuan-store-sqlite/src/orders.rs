//! Service menus and orders.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::ids::SiteId;
use zhiyuan_domain::order::{Holder, OrderState, OrderStatus};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_store::{
    AuditEntry, HolderFacts, MenuItem, MenuItemRecord, Need, NewOrder, OrderQuery, OrderRecord,
    OrderStats, OrderStore, Page, PageRequest, ProjectId, Result, SiteOrderStats, SiteRecord,
    StoreError,
};

use crate::SqliteStore;
use crate::conv::{
    col, eq_filter, expect_one, json, micros, opt_time, placeholders, region, store_err, time,
    to_json, within_filter, write_audit,
};

const MENU: &str = "SELECT id, site_id, code, category, name, description, conditions, skills,
    typical_minutes, offered, updated_at, version, minors_allowed FROM menu_items";

fn menu_row(row: &Row<'_>) -> rusqlite::Result<MenuItemRecord> {
    Ok(MenuItemRecord {
        id: row.get(0)?,
        item: MenuItem {
            site: SiteId(row.get(1)?),
            code: row.get(2)?,
            category: col(row, 3, |s: String| ServiceCategory::parse(&s))?,
            name: row.get(4)?,
            description: row.get(5)?,
            conditions: row.get(6)?,
            skills: json(row, 7)?,
            typical_minutes: row.get(8)?,
            minors_allowed: row.get(12)?,
            offered: row.get(9)?,
        },
        updated_at: time(row, 10)?,
        version: row.get(11)?,
    })
}

const ORDER: &str = "SELECT id, tracking, requester_hash, service_code, service_name, category,
    description, region_code, address, lat, lng, wanted_at, contact_name, contact_phone,
    site_id, status, holder_kind, holder_id, dispatcher_id, due_at, note, report, rating,
    comment, created_at, accepted_at, completed_at, rated_at, updated_at, version FROM orders";

/// Orders newest first, by the filters given (see [`eq_filter`]). A site's desk is what
/// it received and what it holds, each read newest first through its own index, a page
/// of each at most, so a busy center's page costs what a station's does; an order both
/// received and held there comes twice, next to itself, and the caller drops the second.
pub(crate) fn list_sql(q: &OrderQuery) -> String {
    let filters = format!(
        "id < ?1 AND {} AND {} AND (?5 IS NULL OR status = ?5) AND {}",
        eq_filter("site_id", 2, q.site.is_some()),
        if q.holder.is_some() {
            "holder_kind = ?3 AND holder_id = ?4"
        } else {
            "?3 IS NULL AND ?4 IS NULL"
        },
        within_filter("region_code", 6, 7, q.within),
    );
    if q.at_site.is_none() {
        return format!("{ORDER} WHERE {filters} AND ?9 IS NULL ORDER BY id DESC LIMIT ?8");
    }
    format!(
        "SELECT * FROM ({ORDER} WHERE {filters} AND site_id = ?9 ORDER BY id DESC LIMIT ?8)
         UNION ALL
         SELECT * FROM ({ORDER} WHERE {filters} AND holder_kind = 'site' AND holder_id = ?9
                          ORDER BY id DESC LIMIT ?8)
         ORDER BY id DESC"
    )
}

fn order_row(row: &Row<'_>) -> rusqlite::Result<OrderRecord> {
    let lat: Option<f64> = row.get(9)?;
    let lng: Option<f64> = row.get(10)?;
    let holder_kind: String = row.get(16)?;
    Ok(OrderRecord {
        id: row.get(0)?,
        order: NewOrder {
            tracking: row.get(1)?,
            requester_hash: row.get(2)?,
            need: Need {
                service_code: row.get(3)?,
                service_name: row.get(4)?,
                category: col(row, 5, |s: String| ServiceCategory::parse(&s))?,
                description: row.get(6)?,
                region: region(row, 7)?,
                address: row.get(8)?,
                location: GeoPoint::from_columns(lat, lng),
                wanted_at: opt_time(row, 11)?,
                contact_name: row.get(12)?,
                contact_phone: row.get(13)?,
            },
            site: SiteId(row.get(14)?),
            created_at: time(row, 24)?,
        },
        state: OrderState {
            status: col(row, 15, |s: String| OrderStatus::parse(&s))?,
            holder: col(row, 17, |id: i64| Holder::from_parts(&holder_kind, id))?,
            dispatcher: row.get::<_, Option<i64>>(18)?.map(SiteId),
        },
        due_at: opt_time(row, 19)?,
        note: row.get(20)?,
        report: row.get(21)?,
        rating: row.get(22)?,
        comment: row.get(23)?,
        accepted_at: opt_time(row, 25)?,
        completed_at: opt_time(row, 26)?,
        rated_at: opt_time(row, 27)?,
        updated_at: time(row, 28)?,
        version: row.get(29)?,
    })
}

fn order(c: &Connection, id: i64) -> Result<OrderRecord> {
    c.prepare_cached(&format!("{ORDER} WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id], order_row).optional())
        .map_err(store_err)?
        .ok_or(StoreError::NotFound)
}

#[async_trait]
impl OrderStore for SqliteStore {
    async fn put_menu_item(&self, item: &MenuItem, audit: &AuditEntry) -> Result<MenuItemRecord> {
        let (m, audit) = (item.clone(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO menu_items (site_id, code, category, name, description, conditions,
                    skills, typical_minutes, offered, updated_at, minors_allowed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (site_id, code) DO UPDATE SET category = excluded.category,
                    name = excluded.name, description = excluded.description,
                    conditions = excluded.conditions, skills = excluded.skills,
                    typical_minutes = excluded.typical_minutes, offered = excluded.offered,
                    updated_at = excluded.updated_at, minors_allowed = excluded.minors_allowed,
                    version = version + 1",
                params![
                    m.site.0,
                    m.code,
                    m.category.code(),
                    m.name,
                    m.description,
                    m.conditions,
                    to_json(&m.skills),
                    m.typical_minutes,
                    m.offered,
                    micros(audit.at),
                    m.minors_allowed,
                ],
            )
            .map_err(store_err)?;
            let out = tx
                .prepare_cached(&format!("{MENU} WHERE site_id = ?1 AND code = ?2"))
                .and_then(|mut s| s.query_row(params![m.site.0, m.code], menu_row))
                .map_err(store_err)?;
            write_audit(tx, &audit, Some(out.id.to_string()))?;
            Ok(out)
        })
        .await
    }

    async fn menu_items_in(&self, regions: &[RegionCode]) -> Result<Vec<MenuItemRecord>> {
        let codes: Vec<i64> = regions.iter().map(|r| r.as_i64()).collect();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "{MENU} WHERE site_id IN (SELECT id FROM sites WHERE region_code IN ({}))",
                placeholders(1, codes.len())
            ))?
            .query_map(rusqlite::params_from_iter(&codes), menu_row)?
            .collect()
        })
        .await
    }

    async fn offered_menu_items(&self, limit: u32) -> Result<Vec<MenuItemRecord>> {
        self.read(move |c| {
            c.prepare_cached(&format!("{MENU} WHERE offered ORDER BY code, id LIMIT ?1"))?
                .query_map([limit], menu_row)?
                .collect()
        })
        .await
    }

    async fn sites_in(&self, regions: &[RegionCode]) -> Result<Vec<SiteRecord>> {
        let codes: Vec<i64> = regions.iter().map(|r| r.as_i64()).collect();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {} FROM sites WHERE region_code IN ({}) ORDER BY id",
                crate::sites::COLUMNS,
                placeholders(1, codes.len())
            ))?
            .query_map(rusqlite::params_from_iter(&codes), crate::sites::from_row)?
            .collect()
        })
        .await
    }

    async fn sites_near(&self, point: GeoPoint, radius_m: f64) -> Result<Vec<SiteRecord>> {
        let (lat, lng) = point.bounding_box(radius_m);
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {} FROM sites WHERE lat BETWEEN ?1 AND ?2 AND lng BETWEEN ?3 AND ?4",
                crate::sites::COLUMNS
            ))?
            .query_map(params![lat.0, lat.1, lng.0, lng.1], crate::sites::from_row)?
            .collect()
        })
        .await
    }

    async fn insert_order(&self, o: &NewOrder, audit: &AuditEntry) -> Result<OrderRecord> {
        let (o, audit) = (o.clone(), audit.clone());
        self.write(move |tx| {
            let n = &o.need;
            tx.execute(
                "INSERT INTO orders (tracking, requester_hash, service_code, service_name,
                    category, description, region_code, address, lat, lng, wanted_at,
                    contact_name, contact_phone, site_id, status, holder_kind, holder_id,
                    created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                    'received', 'site', ?14, ?15, ?15)",
                params![
                    o.tracking,
                    o.requester_hash,
                    n.service_code,
                    n.service_name,
                    n.category.code(),
                    n.description,
                    n.region.as_i64(),
                    n.address,
                    n.location.map(|p| p.lat),
                    n.location.map(|p| p.lng),
                    n.wanted_at.map(micros),
                    n.contact_name,
                    n.contact_phone,
                    o.site.0,
                    micros(o.created_at)
                ],
            )
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            write_audit(tx, &audit, Some(id.to_string()))?;
            order(tx, id)
        })
        .await
    }

    async fn get_order(&self, id: i64) -> Result<Option<OrderRecord>> {
        self.read(move |c| {
            c.prepare_cached(&format!("{ORDER} WHERE id = ?1"))?
                .query_row([id], order_row)
                .optional()
        })
        .await
    }

    async fn order_by_tracking(&self, tracking: &str) -> Result<Option<OrderRecord>> {
        let tracking = tracking.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("{ORDER} WHERE tracking = ?1"))?
                .query_row([tracking], order_row)
                .optional()
        })
        .await
    }

    async fn update_order(&self, o: &OrderRecord, audit: &AuditEntry) -> Result<OrderRecord> {
        let (o, audit) = (o.clone(), audit.clone());
        self.write(move |tx| {
            let s = &o.state;
            let changed = tx
                .execute(
                    "UPDATE orders SET status = ?3, holder_kind = ?4, holder_id = ?5,
                        dispatcher_id = ?6, due_at = ?7, note = ?8, report = ?9, rating = ?10,
                        comment = ?11, accepted_at = ?12, completed_at = ?13, rated_at = ?14,
                        updated_at = ?15, version = version + 1
                     WHERE id = ?1 AND version = ?2",
                    params![
                        o.id,
                        o.version,
                        s.status.as_str(),
                        s.holder.kind(),
                        s.holder.id(),
                        s.dispatcher.map(|d| d.0),
                        o.due_at.map(micros),
                        o.note,
                        o.report,
                        o.rating,
                        o.comment,
                        o.accepted_at.map(micros),
                        o.completed_at.map(micros),
                        o.rated_at.map(micros),
                        micros(audit.at)
                    ],
                )
                .map_err(store_err)?;
            expect_one(changed)?;
            write_audit(tx, &audit, None)?;
            order(tx, o.id)
        })
        .await
    }

    async fn list_orders(&self, q: &OrderQuery, page: &PageRequest) -> Result<Page<OrderRecord>> {
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let (lo, hi) = q.within.map(RegionCode::subtree).unzip();
        let q = q.clone();
        let limit = page.limit;
        self.read(move |c| {
            let mut rows = c
                .prepare_cached(&list_sql(&q))?
                .query_map(
                    params![
                        before,
                        q.site.map(|s| s.0),
                        q.holder.map(Holder::kind),
                        q.holder.map(Holder::id),
                        q.status.map(OrderStatus::as_str),
                        lo,
                        hi,
                        limit + 1,
                        q.at_site.map(|s| s.0),
                    ],
                    order_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.dedup_by_key(|o| o.id);
            Ok(Page::from_rows(rows, limit, |o| vec![o.id]))
        })
        .await
    }

    async fn due_orders(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<OrderRecord>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "{ORDER} WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY due_at LIMIT ?2"
            ))?
            .query_map(params![micros(now), limit], order_row)?
            .collect()
        })
        .await
    }

    async fn order_stats(&self, within: RegionCode) -> Result<Vec<SiteOrderStats>> {
        let (lo, hi) = within.subtree();
        self.read(move |c| {
            c.prepare_cached(
                // The running tallies (migration 0019): a row per village and site.
                "SELECT site_id, SUM(orders), SUM(accepted), SUM(completed), SUM(rated),
                    1.0 * SUM(rating_sum) / NULLIF(SUM(rated), 0),
                    SUM(accept_secs) / NULLIF(SUM(accepted), 0),
                    SUM(complete_secs) / NULLIF(SUM(complete_timed), 0)
                 FROM order_tallies WHERE region_code >= ?1 AND region_code < ?2
                 GROUP BY site_id ORDER BY site_id",
            )?
            .query_map(params![lo, hi], |row| {
                Ok(SiteOrderStats {
                    site: SiteId(row.get(0)?),
                    stats: OrderStats {
                        orders: row.get(1)?,
                        accepted: row.get(2)?,
                        completed: row.get(3)?,
                        rated: row.get(4)?,
                        mean_rating: row.get(5)?,
                        mean_secs_to_accept: row.get(6)?,
                        mean_secs_to_complete: row.get(7)?,
                    },
                })
            })?
            .collect()
        })
        .await
    }

    async fn link_activity(
        &self,
        order: i64,
        project: ProjectId,
        audit: &AuditEntry,
    ) -> Result<()> {
        let audit = audit.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "INSERT INTO order_activities (order_id, project_id, created_at)
                     VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    params![order, project.0, micros(audit.at)],
                )
                .map_err(store_err)?;
            if n == 0 {
                return Err(StoreError::Conflict { field: "activity" });
            }
            write_audit(tx, &audit, None)
        })
        .await
    }

    async fn order_activity(&self, order: i64) -> Result<Option<ProjectId>> {
        self.read(move |c| {
            c.prepare_cached("SELECT project_id FROM order_activities WHERE order_id = ?1")?
                .query_row([order], |r| r.get(0).map(ProjectId))
                .optional()
        })
        .await
    }

    async fn holder_facts(
        &self,
        kind: &'static str,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, HolderFacts>> {
        // A fixed number of ids per statement (the last chunk padded with its last id), so
        // that one cached statement serves every request whatever its count.
        const CHUNK: usize = 64;
        let ids = ids.to_vec();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT holder_id, SUM(status IN ('assigned', 'accepted')), COUNT(rating),
                    AVG(rating)
                 FROM orders WHERE holder_kind = ?1 AND holder_id IN ({})
                 GROUP BY holder_id",
                placeholders(2, CHUNK)
            ))?;
            let mut facts = std::collections::HashMap::new();
            for chunk in ids.chunks(CHUNK) {
                let last = chunk[chunk.len() - 1];
                let values = std::iter::once(rusqlite::types::Value::Text(kind.to_owned())).chain(
                    chunk
                        .iter()
                        .chain(std::iter::repeat(&last))
                        .take(CHUNK)
                        .map(|id| rusqlite::types::Value::Integer(*id)),
                );
                let rows = stmt.query_map(rusqlite::params_from_iter(values), |row| {
                    Ok((
                        row.get(0)?,
                        HolderFacts {
                            open_orders: row.get(1)?,
                            rated: row.get(2)?,
                            mean_rating: row.get(3)?,
                        },
                    ))
                })?;
                for row in rows {
                    let (id, f) = row?;
                    facts.insert(id, f);
                }
            }
            Ok(facts)
        })
        .await
    }
}
