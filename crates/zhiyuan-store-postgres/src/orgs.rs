//! Organisations, teams and memberships.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use zhiyuan_domain::access::OrgFacts;
use zhiyuan_domain::ids::{AccountId, MembershipId, OrgId, SiteId, VolunteerId};
use zhiyuan_domain::org::{MembershipRole, MembershipStatus, OrgKind};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, MembershipQuery, MembershipRecord, NewMembership, NewOrg, OrgQuery, OrgRecord,
    OrgStore, Page, PageRequest, Result, StoreError,
};

use crate::PgStore;
use crate::conv::{
    conv, eq_filter, expect_one, get, json, pg_err, range, region, to_json, write_audit,
};

const ORG_COLUMNS: &str = "id, kind, name, credit_code, parent_id, region_code, site_id,
    description, contact_name, contact_phone, service_categories, version, created_at, updated_at";

fn org_from_row(row: &Row) -> Result<OrgRecord> {
    Ok(OrgRecord {
        id: OrgId(get(row, 0)?),
        org: NewOrg {
            kind: conv(row, 1, |s: &str| OrgKind::parse(s))?,
            name: get(row, 2)?,
            credit_code: get(row, 3)?,
            parent: get::<Option<i64>>(row, 4)?.map(OrgId),
            region: region(row, 5)?,
            site: get::<Option<i64>>(row, 6)?.map(SiteId),
            description: get(row, 7)?,
            contact_name: get(row, 8)?,
            contact_phone: get(row, 9)?,
            service_categories: json(row, 10)?,
        },
        version: get(row, 11)?,
        created_at: get(row, 12)?,
        updated_at: get(row, 13)?,
    })
}

async fn fetch_org(c: &impl GenericClient, id: i64) -> Result<Option<OrgRecord>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1"
        ))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(pg_err)?;
    row.as_ref().map(org_from_row).transpose()
}

const MEMBERSHIP_SELECT: &str = "SELECT m.id, m.org_id, m.volunteer_id, v.number, v.name,
    m.role, m.status, m.applied_at, m.decided_at, m.decided_by, m.version
    FROM memberships m JOIN volunteers v ON v.id = m.volunteer_id";

fn membership_from_row(row: &Row) -> Result<MembershipRecord> {
    Ok(MembershipRecord {
        id: MembershipId(get(row, 0)?),
        org: OrgId(get(row, 1)?),
        volunteer: VolunteerId(get(row, 2)?),
        volunteer_number: conv(row, 3, VolunteerNumber::from_i64)?,
        volunteer_name: get(row, 4)?,
        role: conv(row, 5, |s: &str| MembershipRole::parse(s))?,
        status: conv(row, 6, |s: &str| MembershipStatus::parse(s))?,
        applied_at: get(row, 7)?,
        decided_at: get(row, 8)?,
        decided_by: get::<Option<i64>>(row, 9)?.map(AccountId),
        version: get(row, 10)?,
    })
}

async fn fetch_membership(c: &impl GenericClient, id: i64) -> Result<Option<MembershipRecord>> {
    let stmt = c
        .prepare_cached(&format!("{MEMBERSHIP_SELECT} WHERE m.id = $1"))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(pg_err)?;
    row.as_ref().map(membership_from_row).transpose()
}

async fn insert_membership_row(c: &impl GenericClient, m: &NewMembership) -> Result<i64> {
    let decided = m.status != MembershipStatus::Pending;
    let row = c
        .query_one(
            &c.prepare_cached(
                "INSERT INTO memberships (org_id, volunteer_id, role, status, applied_at,
                decided_at, decided_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .await
            .map_err(pg_err)?,
            &[
                &m.org.0,
                &m.volunteer.0,
                &m.role.as_str(),
                &m.status.as_str(),
                &m.at,
                &decided.then_some(m.at),
                &m.decided_by.map(|a| a.0),
            ],
        )
        .await
        .map_err(pg_err)?;
    get(&row, 0)
}

#[async_trait]
impl OrgStore for PgStore {
    async fn insert_org(
        &self,
        o: &NewOrg,
        admin: Option<VolunteerId>,
        audit: &AuditEntry,
    ) -> Result<OrgRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO organisations (kind, name, credit_code, parent_id, region_code,
                    site_id, description, contact_name, contact_phone, service_categories,
                    created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &o.kind.as_str(),
                    &o.name,
                    &o.credit_code,
                    &o.parent.map(|p| p.0),
                    &o.region.as_i64(),
                    &o.site.map(|s| s.0),
                    &o.description,
                    &o.contact_name,
                    &o.contact_phone,
                    &to_json(&o.service_categories),
                    &audit.at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        if let Some(volunteer) = admin {
            insert_membership_row(
                &tx,
                &NewMembership {
                    org: OrgId(id),
                    volunteer,
                    role: MembershipRole::Admin,
                    status: MembershipStatus::Active,
                    at: audit.at,
                    decided_by: audit.actor,
                },
            )
            .await?;
        }
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let record = fetch_org(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn get_org(&self, id: OrgId) -> Result<Option<OrgRecord>> {
        let store = self.clone();
        self.orgs
            .get(id.0, move |ids| async move {
                let client = store.batch_client().await?;
                let stmt = client
                    .prepare_cached(&format!(
                        "SELECT {ORG_COLUMNS} FROM organisations WHERE id = ANY($1)"
                    ))
                    .await
                    .map_err(pg_err)?;
                let rows = client.query(&stmt, &[&ids]).await.map_err(pg_err)?;
                rows.iter()
                    .map(|r| org_from_row(r).map(|o| (o.id.0, o)))
                    .collect()
            })
            .await
    }

    async fn update_org(&self, o: &OrgRecord, audit: &AuditEntry) -> Result<OrgRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let n = &o.org;
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE organisations SET name = $3, credit_code = $4, site_id = $5,
                    description = $6, contact_name = $7, contact_phone = $8,
                    service_categories = $9, updated_at = $10, version = version + 1
                 WHERE id = $1 AND version = $2",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &o.id.0,
                    &o.version,
                    &n.name,
                    &n.credit_code,
                    &n.site.map(|s| s.0),
                    &n.description,
                    &n.contact_name,
                    &n.contact_phone,
                    &to_json(&n.service_categories),
                    &audit.at,
                ],
            )
            .await
            .map_err(pg_err)?;
        expect_one(changed)?;
        write_audit(&tx, audit, None).await?;
        let record = fetch_org(&tx, o.id.0).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn list_orgs(&self, q: &OrgQuery, page: &PageRequest) -> Result<Page<OrgRecord>> {
        let (lo, hi) = range(q.within);
        let after = page.after.clone().map_or((0, 0), |c| (c.key(0), c.key(1)));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {ORG_COLUMNS} FROM organisations
                 WHERE region_code >= $1 AND region_code < $2 AND (region_code, id) > ($3, $4)
                   AND {} AND {}
                 ORDER BY region_code, id LIMIT $7",
                eq_filter("parent_id", 5, "BIGINT", q.parent.is_some()),
                eq_filter("site_id", 6, "BIGINT", q.site.is_some()),
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
                    &q.parent.map(|p| p.0),
                    &q.site.map(|s| s.0),
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows.iter().map(org_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |o| {
            vec![o.org.region.as_i64(), o.id.0]
        }))
    }

    async fn insert_membership(
        &self,
        m: &NewMembership,
        audit: &AuditEntry,
    ) -> Result<MembershipRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let id = insert_membership_row(&tx, m).await?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let record = fetch_membership(&tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn get_membership(&self, id: MembershipId) -> Result<Option<MembershipRecord>> {
        fetch_membership(&self.client().await?, id.0).await
    }

    async fn update_membership(
        &self,
        m: &MembershipRecord,
        audit: &AuditEntry,
    ) -> Result<MembershipRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE memberships SET role = $3, status = $4, applied_at = $5,
                    decided_at = $6, decided_by = $7, version = version + 1
                 WHERE id = $1 AND version = $2",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &m.id.0,
                    &m.version,
                    &m.role.as_str(),
                    &m.status.as_str(),
                    &m.applied_at,
                    &m.decided_at,
                    &m.decided_by.map(|a| a.0),
                ],
            )
            .await
            .map_err(pg_err)?;
        expect_one(changed)?;
        write_audit(&tx, audit, None).await?;
        let record = fetch_membership(&tx, m.id.0)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn list_memberships(
        &self,
        q: &MembershipQuery,
        page: &PageRequest,
    ) -> Result<Page<MembershipRecord>> {
        let after = page.after.as_ref().map_or(0, |c| c.key(0));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "{MEMBERSHIP_SELECT}
                 WHERE m.id > $1 AND {} AND {} AND ($4::TEXT IS NULL OR m.status = $4)
                 ORDER BY m.id LIMIT $5",
                eq_filter("m.org_id", 2, "BIGINT", q.org.is_some()),
                eq_filter("m.volunteer_id", 3, "BIGINT", q.volunteer.is_some()),
            ))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &after,
                    &q.org.map(|o| o.0),
                    &q.volunteer.map(|v| v.0),
                    &q.status.map(MembershipStatus::as_str),
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows
            .iter()
            .map(membership_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |m| vec![m.id.0]))
    }

    async fn volunteer_orgs(&self, volunteer: VolunteerId) -> Result<Vec<OrgFacts>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT o.id, o.region_code, o.site_id FROM memberships m
                 JOIN organisations o ON o.id = m.org_id
                 WHERE m.volunteer_id = $1 AND m.status IN ('pending', 'active')",
            )
            .await
            .map_err(pg_err)?;
        let rows = client.query(&stmt, &[&volunteer.0]).await.map_err(pg_err)?;
        rows.iter()
            .map(|row| {
                Ok(OrgFacts {
                    id: OrgId(get(row, 0)?),
                    region: region(row, 1)?,
                    site: get::<Option<i64>>(row, 2)?.map(SiteId),
                })
            })
            .collect()
    }
}
