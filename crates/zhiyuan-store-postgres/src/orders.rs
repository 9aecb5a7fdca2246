//! Service menus and orders.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
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

use crate::PgStore;
use crate::conv::{
    AUDIT_INSERT, AuditColumns, audit_arrays, conv, eq_filter, get, json, pg_err, region, to_json,
    within_filter, write_audit,
};

macro_rules! menu_columns {
    () => {
        "id, site_id, code, category, name, description, conditions, skills,
        typical_minutes, offered, updated_at, version, minors_allowed"
    };
}

const MENU: &str = concat!("SELECT ", menu_columns!(), " FROM menu_items");

const PUT_MENU_ITEM: &str = concat!(
    "INSERT INTO menu_items (site_id, code, category, name, description, conditions, skills,
        typical_minutes, offered, updated_at, minors_allowed)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (site_id, code) DO UPDATE SET category = excluded.category,
        name = excluded.name, description = excluded.description,
        conditions = excluded.conditions, skills = excluded.skills,
        typical_minutes = excluded.typical_minutes, offered = excluded.offered,
        updated_at = excluded.updated_at, minors_allowed = excluded.minors_allowed,
        version = menu_items.version + 1
     RETURNING ",
    menu_columns!()
);

fn menu_row(row: &Row) -> Result<MenuItemRecord> {
    Ok(MenuItemRecord {
        id: get(row, 0)?,
        item: MenuItem {
            site: SiteId(get(row, 1)?),
            code: get(row, 2)?,
            category: conv(row, 3, |s: &str| ServiceCategory::parse(s))?,
            name: get(row, 4)?,
            description: get(row, 5)?,
            conditions: get(row, 6)?,
            skills: json(row, 7)?,
            typical_minutes: get(row, 8)?,
            minors_allowed: get(row, 12)?,
            offered: get(row, 9)?,
        },
        updated_at: get(row, 10)?,
        version: get(row, 11)?,
    })
}

macro_rules! order_columns {
    () => {
        "id, tracking, requester_hash, service_code, service_name, category, description,
        region_code, address, lat, lng, wanted_at, contact_name, contact_phone, site_id,
        status, holder_kind, holder_id, dispatcher_id, due_at, note, report, rating, comment,
        created_at, accepted_at, completed_at, rated_at, updated_at, version"
    };
}

const ORDER: &str = concat!("SELECT ", order_columns!(), " FROM orders");

/// Moves of distinct orders, each with its audit entry, as one statement (atomic without a
/// transaction; see [`PgStore::move_together`]). A move is written only if its order is
/// still at the version read, and only a move written is audited.
fn move_together_sql() -> String {
    format!(
        "WITH d AS (
            SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[],
                $5::BIGINT[], $6::BIGINT[], $7::TIMESTAMPTZ[], $8::TEXT[], $9::TEXT[],
                $10::SMALLINT[], $11::TEXT[], $12::TIMESTAMPTZ[], $13::TIMESTAMPTZ[],
                $14::TIMESTAMPTZ[], $15::TIMESTAMPTZ[], {audits})
            AS d(d_id, d_version, d_status, d_holder_kind, d_holder_id, d_dispatcher,
                d_due_at, d_note, d_report, d_rating, d_comment, d_accepted_at,
                d_completed_at, d_rated_at, d_updated_at, a_at, a_actor, a_request, a_action,
                a_subject_type, a_subject, a_region, a_reason, a_details)),
         moved AS (
            UPDATE orders SET status = d_status, holder_kind = d_holder_kind,
                holder_id = d_holder_id, dispatcher_id = d_dispatcher, due_at = d_due_at,
                note = d_note, report = d_report, rating = d_rating, comment = d_comment,
                accepted_at = d_accepted_at, completed_at = d_completed_at,
                rated_at = d_rated_at, updated_at = d_updated_at, version = version + 1
            FROM d WHERE id = d_id AND version = d_version
            RETURNING {columns}),
         audited AS ({AUDIT_INSERT}
            SELECT a_at, a_actor, a_request, a_action, a_subject_type, moved.id::TEXT,
                a_region, a_reason, a_details
            FROM moved JOIN d ON d_id = moved.id)
         SELECT * FROM moved",
        audits = audit_arrays(16),
        columns = order_columns!(),
    )
}

/// A move waiting for its group commit.
pub(crate) struct MoveRequest {
    order: OrderRecord,
    audit: AuditEntry,
}

/// How the sites that received a region's orders answered them, from the running tallies
/// (migration 0019): a row per village and site, not per order.
const TALLIES: &str = "SELECT site_id, SUM(orders)::BIGINT, SUM(accepted)::BIGINT,
        SUM(completed)::BIGINT, SUM(rated)::BIGINT,
        (SUM(rating_sum) / NULLIF(SUM(rated), 0))::FLOAT8,
        SUM(accept_secs) / NULLIF(SUM(accepted), 0),
        SUM(complete_secs) / NULLIF(SUM(complete_timed), 0)
    FROM order_tallies WHERE region_code >= $1 AND region_code < $2
    GROUP BY site_id ORDER BY site_id";

/// Orders newest first, by the filters given (see [`eq_filter`]). A site's desk is what
/// it received and what it holds, each read newest first through its own index, a page
/// of each at most, so a busy center's page costs what a station's does; an order both
/// received and held there comes twice, next to itself, and the caller drops the second.
pub(crate) fn list_sql(q: &OrderQuery) -> String {
    let filters = format!(
        "id < $1 AND {} AND {} AND ($5::TEXT IS NULL OR status = $5) AND {}",
        eq_filter("site_id", 2, "BIGINT", q.site.is_some()),
        if q.holder.is_some() {
            "holder_kind = $3 AND holder_id = $4"
        } else {
            "$3::TEXT IS NULL AND $4::BIGINT IS NULL"
        },
        within_filter("region_code", 6, 7, q.within.is_some()),
    );
    if q.at_site.is_none() {
        return format!("{ORDER} WHERE {filters} AND $9::BIGINT IS NULL ORDER BY id DESC LIMIT $8");
    }
    format!(
        "SELECT * FROM ({ORDER} WHERE {filters} AND site_id = $9 ORDER BY id DESC LIMIT $8)
           AS received
         UNION ALL
         SELECT * FROM ({ORDER} WHERE {filters} AND holder_kind = 'site' AND holder_id = $9
                          ORDER BY id DESC LIMIT $8) AS held
         ORDER BY id DESC"
    )
}

fn order_row(row: &Row) -> Result<OrderRecord> {
    let lat: Option<f64> = get(row, 9)?;
    let lng: Option<f64> = get(row, 10)?;
    let holder_kind: String = get(row, 16)?;
    Ok(OrderRecord {
        id: get(row, 0)?,
        order: NewOrder {
            tracking: get(row, 1)?,
            requester_hash: get(row, 2)?,
            need: Need {
                service_code: get(row, 3)?,
                service_name: get(row, 4)?,
                category: conv(row, 5, |s: &str| ServiceCategory::parse(s))?,
                description: get(row, 6)?,
                region: region(row, 7)?,
                address: get(row, 8)?,
                location: GeoPoint::from_columns(lat, lng),
                wanted_at: get(row, 11)?,
                contact_name: get(row, 12)?,
                contact_phone: get(row, 13)?,
            },
            site: SiteId(get(row, 14)?),
            created_at: get(row, 24)?,
        },
        state: OrderState {
            status: conv(row, 15, |s: &str| OrderStatus::parse(s))?,
            holder: conv(row, 17, |id: i64| Holder::from_parts(&holder_kind, id))?,
            dispatcher: get::<Option<i64>>(row, 18)?.map(SiteId),
        },
        due_at: get(row, 19)?,
        note: get(row, 20)?,
        report: get(row, 21)?,
        rating: get(row, 22)?,
        comment: get(row, 23)?,
        accepted_at: get(row, 25)?,
        completed_at: get(row, 26)?,
        rated_at: get(row, 27)?,
        updated_at: get(row, 28)?,
        version: get(row, 29)?,
    })
}

impl PgStore {
    /// Moves of distinct orders (a round of [`crate::coalesce::commit_in_rounds`]) in one
    /// statement: each its own outcome, the order as moved or a version conflict when
    /// someone moved it first.
    async fn move_together(&self, requests: &[&MoveRequest]) -> Result<Vec<Result<OrderRecord>>> {
        let client = self.batch_client().await?;
        let stmt = client
            .prepare_cached(&move_together_sql())
            .await
            .map_err(pg_err)?;
        let orders = || requests.iter().map(|r| &r.order);
        let states = || orders().map(|o| &o.state);
        let ids: Vec<i64> = orders().map(|o| o.id).collect();
        let versions: Vec<i64> = orders().map(|o| o.version).collect();
        let statuses: Vec<&str> = states().map(|s| s.status.as_str()).collect();
        let holder_kinds: Vec<&str> = states().map(|s| s.holder.kind()).collect();
        let holder_ids: Vec<i64> = states().map(|s| s.holder.id()).collect();
        let dispatchers: Vec<Option<i64>> = states().map(|s| s.dispatcher.map(|d| d.0)).collect();
        let due: Vec<Option<OffsetDateTime>> = orders().map(|o| o.due_at).collect();
        let notes: Vec<Option<&str>> = orders().map(|o| o.note.as_deref()).collect();
        let reports: Vec<Option<&str>> = orders().map(|o| o.report.as_deref()).collect();
        let ratings: Vec<Option<i16>> = orders().map(|o| o.rating).collect();
        let comments: Vec<Option<&str>> = orders().map(|o| o.comment.as_deref()).collect();
        let accepted: Vec<Option<OffsetDateTime>> = orders().map(|o| o.accepted_at).collect();
        let completed: Vec<Option<OffsetDateTime>> = orders().map(|o| o.completed_at).collect();
        let rated: Vec<Option<OffsetDateTime>> = orders().map(|o| o.rated_at).collect();
        let updated: Vec<OffsetDateTime> = requests.iter().map(|r| r.audit.at).collect();
        // The subject (the order's id) is filled in by the statement.
        let audits = AuditColumns::new(requests.iter().map(|r| (&r.audit, "")));
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
            &ids,
            &versions,
            &statuses,
            &holder_kinds,
            &holder_ids,
            &dispatchers,
            &due,
            &notes,
            &reports,
            &ratings,
            &comments,
            &accepted,
            &completed,
            &rated,
            &updated,
        ];
        params.extend(audits.params());
        let rows = client.query(&stmt, &params).await.map_err(pg_err)?;
        let mut moved: HashMap<i64, OrderRecord> = rows
            .iter()
            .map(|row| order_row(row).map(|o| (o.id, o)))
            .collect::<Result<_>>()?;
        Ok(ids
            .iter()
            .map(|id| {
                moved
                    .remove(id)
                    .ok_or(StoreError::Conflict { field: "version" })
            })
            .collect())
    }
}

async fn order_where(
    c: &impl GenericClient,
    filter: &str,
    arg: &(dyn tokio_postgres::types::ToSql + Sync),
) -> Result<Option<OrderRecord>> {
    let stmt = c
        .prepare_cached(&format!("{ORDER} WHERE {filter} = $1"))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[arg]).await.map_err(pg_err)?;
    row.as_ref().map(order_row).transpose()
}

#[async_trait]
impl OrderStore for PgStore {
    async fn put_menu_item(&self, m: &MenuItem, audit: &AuditEntry) -> Result<MenuItemRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(PUT_MENU_ITEM).await.map_err(pg_err)?,
                &[
                    &m.site.0,
                    &m.code,
                    &m.category.code(),
                    &m.name,
                    &m.description,
                    &m.conditions,
                    &to_json(&m.skills),
                    &m.typical_minutes,
                    &m.offered,
                    &audit.at,
                    &m.minors_allowed,
                ],
            )
            .await
            .map_err(pg_err)?;
        let out = menu_row(&row)?;
        write_audit(&tx, audit, Some(out.id.to_string())).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn menu_items_in(&self, regions: &[RegionCode]) -> Result<Vec<MenuItemRecord>> {
        let codes: Vec<i64> = regions.iter().map(|r| r.as_i64()).collect();
        let client = self.batch_client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!(
                        "{MENU} WHERE site_id IN (SELECT id FROM sites WHERE region_code = ANY($1))"
                    ))
                    .await
                    .map_err(pg_err)?,
                &[&codes],
            )
            .await
            .map_err(pg_err)?;
        rows.iter().map(menu_row).collect()
    }

    async fn offered_menu_items(&self, limit: u32) -> Result<Vec<MenuItemRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!("{MENU} WHERE offered ORDER BY code, id LIMIT $1"))
                    .await
                    .map_err(pg_err)?,
                &[&i64::from(limit)],
            )
            .await
            .map_err(pg_err)?;
        rows.iter().map(menu_row).collect()
    }

    async fn sites_in(&self, regions: &[RegionCode]) -> Result<Vec<SiteRecord>> {
        let codes: Vec<i64> = regions.iter().map(|r| r.as_i64()).collect();
        let client = self.batch_client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!(
                        "SELECT {} FROM sites WHERE region_code = ANY($1) ORDER BY id",
                        crate::sites::COLUMNS
                    ))
                    .await
                    .map_err(pg_err)?,
                &[&codes],
            )
            .await
            .map_err(pg_err)?;
        rows.iter().map(crate::sites::from_row).collect()
    }

    async fn sites_near(&self, point: GeoPoint, radius_m: f64) -> Result<Vec<SiteRecord>> {
        let (lat, lng) = point.bounding_box(radius_m);
        let client = self.client().await?;
        let rows = client
            .query(
                &client.prepare_cached(&format!(
                    "SELECT {} FROM sites WHERE lat BETWEEN $1 AND $2 AND lng BETWEEN $3 AND $4",
                    crate::sites::COLUMNS
                )).await.map_err(pg_err)?,
                &[&lat.0, &lat.1, &lng.0, &lng.1],
            )
            .await
            .map_err(pg_err)?;
        rows.iter().map(crate::sites::from_row).collect()
    }

    async fn insert_order(&self, o: &NewOrder, audit: &AuditEntry) -> Result<OrderRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let n = &o.need;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO orders (tracking, requester_hash, service_code, service_name,
                    category, description, region_code, address, lat, lng, wanted_at,
                    contact_name, contact_phone, site_id, status, holder_kind, holder_id,
                    created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                    'received', 'site', $14, $15, $15)
                 RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &o.tracking,
                    &o.requester_hash,
                    &n.service_code,
                    &n.service_name,
                    &n.category.code(),
                    &n.description,
                    &n.region.as_i64(),
                    &n.address,
                    &n.location.map(|p| p.lat),
                    &n.location.map(|p| p.lng),
                    &n.wanted_at,
                    &n.contact_name,
                    &n.contact_phone,
                    &o.site.0,
                    &o.created_at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let out = order_where(&tx, "id", &id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn get_order(&self, id: i64) -> Result<Option<OrderRecord>> {
        let store = self.clone();
        self.orders
            .get(id, move |ids| async move {
                let client = store.batch_client().await?;
                let stmt = client
                    .prepare_cached(&format!("{ORDER} WHERE id = ANY($1)"))
                    .await
                    .map_err(pg_err)?;
                let rows = client.query(&stmt, &[&ids]).await.map_err(pg_err)?;
                rows.iter()
                    .map(|row| order_row(row).map(|o| (o.id, o)))
                    .collect()
            })
            .await
    }

    async fn order_by_tracking(&self, tracking: &str) -> Result<Option<OrderRecord>> {
        order_where(&self.client().await?, "tracking", &tracking).await
    }

    async fn update_order(&self, o: &OrderRecord, audit: &AuditEntry) -> Result<OrderRecord> {
        let store = self.clone();
        let request = MoveRequest {
            order: o.clone(),
            audit: audit.clone(),
        };
        self.moves
            .commit(
                request,
                |r| r.order.id,
                move |requests| {
                    let store = store.clone();
                    Box::pin(async move { store.move_together(requests).await })
                },
            )
            .await
    }

    async fn list_orders(&self, q: &OrderQuery, page: &PageRequest) -> Result<Page<OrderRecord>> {
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let (lo, hi) = q.within.map(RegionCode::subtree).unzip();
        let client = self.client().await?;
        let stmt = client.prepare_cached(&list_sql(q)).await.map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &before,
                    &q.site.map(|s| s.0),
                    &q.holder.map(Holder::kind),
                    &q.holder.map(Holder::id),
                    &q.status.map(OrderStatus::as_str),
                    &lo,
                    &hi,
                    &(i64::from(page.limit) + 1),
                    &q.at_site.map(|s| s.0),
                ],
            )
            .await
            .map_err(pg_err)?;
        let mut items = rows.iter().map(order_row).collect::<Result<Vec<_>>>()?;
        items.dedup_by_key(|o| o.id);
        Ok(Page::from_rows(items, page.limit, |o| vec![o.id]))
    }

    async fn due_orders(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<OrderRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!(
                        "{ORDER} WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at LIMIT $2"
                    ))
                    .await
                    .map_err(pg_err)?,
                &[&now, &i64::from(limit)],
            )
            .await
            .map_err(pg_err)?;
        rows.iter().map(order_row).collect()
    }

    async fn order_stats(&self, within: RegionCode) -> Result<Vec<SiteOrderStats>> {
        let (lo, hi) = within.subtree();
        let client = self.client().await?;
        let rows = client
            .query(
                &client.prepare_cached(TALLIES).await.map_err(pg_err)?,
                &[&lo, &hi],
            )
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|row| {
                Ok(SiteOrderStats {
                    site: SiteId(get(row, 0)?),
                    stats: OrderStats {
                        orders: get(row, 1)?,
                        accepted: get(row, 2)?,
                        completed: get(row, 3)?,
                        rated: get(row, 4)?,
                        mean_rating: get(row, 5)?,
                        mean_secs_to_accept: get(row, 6)?,
                        mean_secs_to_complete: get(row, 7)?,
                    },
                })
            })
            .collect()
    }

    async fn link_activity(
        &self,
        order: i64,
        project: ProjectId,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let n = tx
            .execute(
                &tx.prepare_cached(
                    "INSERT INTO order_activities (order_id, project_id, created_at)
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .await
                .map_err(pg_err)?,
                &[&order, &project.0, &audit.at],
            )
            .await
            .map_err(pg_err)?;
        if n == 0 {
            return Err(StoreError::Conflict { field: "activity" });
        }
        write_audit(&tx, audit, None).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn order_activity(&self, order: i64) -> Result<Option<ProjectId>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &client
                    .prepare_cached("SELECT project_id FROM order_activities WHERE order_id = $1")
                    .await
                    .map_err(pg_err)?,
                &[&order],
            )
            .await
            .map_err(pg_err)?;
        row.map(|r| get(&r, 0).map(ProjectId)).transpose()
    }

    async fn holder_facts(
        &self,
        kind: &'static str,
        ids: &[i64],
    ) -> Result<HashMap<i64, HolderFacts>> {
        // Planned anew for each array, this statement took longer to plan than to run.
        let client = self.batch_client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT holder_id, COUNT(*) FILTER (WHERE status IN ('assigned', 'accepted')),
                    COUNT(rating), AVG(rating)::FLOAT8
                 FROM orders WHERE holder_kind = $1 AND holder_id = ANY($2)
                 GROUP BY holder_id",
            )
            .await
            .map_err(pg_err)?;
        let rows = client.query(&stmt, &[&kind, &ids]).await.map_err(pg_err)?;
        rows.iter()
            .map(|row| {
                Ok((
                    get(row, 0)?,
                    HolderFacts {
                        open_orders: get(row, 1)?,
                        rated: get(row, 2)?,
                        mean_rating: get(row, 3)?,
                    },
                ))
            })
            .collect()
    }
}
