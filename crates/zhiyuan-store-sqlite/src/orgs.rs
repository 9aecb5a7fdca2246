//! Organisations, teams and memberships.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use zhiyuan_domain::access::OrgFacts;
use zhiyuan_domain::ids::{AccountId, MembershipId, OrgId, SiteId, VolunteerId};
use zhiyuan_domain::org::{MembershipRole, MembershipStatus, OrgKind};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, MembershipQuery, MembershipRecord, NewMembership, NewOrg, OrgQuery, OrgRecord,
    OrgStore, Page, PageRequest, Result, StoreError,
};

use crate::SqliteStore;
use crate::conv::{
    col, eq_filter, expect_one, json, micros, opt_time, region, store_err, time, to_json,
    write_audit,
};

const ORG_COLUMNS: &str = "id, kind, name, credit_code, parent_id, region_code, site_id,
    description, contact_name, contact_phone, service_categories, version, created_at, updated_at";

fn org_from_row(row: &Row<'_>) -> rusqlite::Result<OrgRecord> {
    Ok(OrgRecord {
        id: OrgId(row.get(0)?),
        org: NewOrg {
            kind: col(row, 1, |s: String| OrgKind::parse(&s))?,
            name: row.get(2)?,
            credit_code: row.get(3)?,
            parent: row.get::<_, Option<i64>>(4)?.map(OrgId),
            region: region(row, 5)?,
            site: row.get::<_, Option<i64>>(6)?.map(SiteId),
            description: row.get(7)?,
            contact_name: row.get(8)?,
            contact_phone: row.get(9)?,
            service_categories: json(row, 10)?,
        },
        version: row.get(11)?,
        created_at: time(row, 12)?,
        updated_at: time(row, 13)?,
    })
}

fn get_org(c: &Connection, id: i64) -> rusqlite::Result<Option<OrgRecord>> {
    c.prepare_cached(&format!(
        "SELECT {ORG_COLUMNS} FROM organisations WHERE id = ?1"
    ))?
    .query_row([id], org_from_row)
    .optional()
}

const MEMBERSHIP_SELECT: &str = "SELECT m.id, m.org_id, m.volunteer_id, v.number, v.name,
    m.role, m.status, m.applied_at, m.decided_at, m.decided_by, m.version
    FROM memberships m JOIN volunteers v ON v.id = m.volunteer_id";

fn membership_from_row(row: &Row<'_>) -> rusqlite::Result<MembershipRecord> {
    Ok(MembershipRecord {
        id: MembershipId(row.get(0)?),
        org: OrgId(row.get(1)?),
        volunteer: VolunteerId(row.get(2)?),
        volunteer_number: col(row, 3, VolunteerNumber::from_i64)?,
        volunteer_name: row.get(4)?,
        role: col(row, 5, |s: String| MembershipRole::parse(&s))?,
        status: col(row, 6, |s: String| MembershipStatus::parse(&s))?,
        applied_at: time(row, 7)?,
        decided_at: opt_time(row, 8)?,
        decided_by: row.get::<_, Option<i64>>(9)?.map(AccountId),
        version: row.get(10)?,
    })
}

fn get_membership(c: &Connection, id: i64) -> rusqlite::Result<Option<MembershipRecord>> {
    c.prepare_cached(&format!("{MEMBERSHIP_SELECT} WHERE m.id = ?1"))?
        .query_row([id], membership_from_row)
        .optional()
}

/// Inserts a membership row; shared with the bulk volunteer load.
pub(crate) fn insert_membership_row(tx: &Transaction<'_>, m: &NewMembership) -> Result<i64> {
    let decided = m.status != MembershipStatus::Pending;
    tx.prepare_cached(
        "INSERT INTO memberships (org_id, volunteer_id, role, status, applied_at, decided_at,
            decided_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            m.org.0,
            m.volunteer.0,
            m.role.as_str(),
            m.status.as_str(),
            micros(m.at),
            decided.then(|| micros(m.at)),
            m.decided_by.map(|a| a.0),
        ])
    })
    .map_err(store_err)?;
    Ok(tx.last_insert_rowid())
}

/// Memberships in id order, of a team and/or a volunteer when given.
pub(crate) fn memberships_sql(by_org: bool, by_volunteer: bool) -> String {
    format!(
        "{MEMBERSHIP_SELECT}
         WHERE m.id > ?1 AND {} AND {} AND (?4 IS NULL OR m.status = ?4)
         ORDER BY m.id LIMIT ?5",
        eq_filter("m.org_id", 2, by_org),
        eq_filter("m.volunteer_id", 3, by_volunteer),
    )
}

#[async_trait]
impl OrgStore for SqliteStore {
    async fn insert_org(
        &self,
        o: &NewOrg,
        admin: Option<VolunteerId>,
        audit: &AuditEntry,
    ) -> Result<OrgRecord> {
        let (o, audit) = (o.clone(), audit.clone());
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO organisations (kind, name, credit_code, parent_id, region_code,
                    site_id, description, contact_name, contact_phone, service_categories,
                    created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    o.kind.as_str(),
                    o.name,
                    o.credit_code,
                    o.parent.map(|p| p.0),
                    o.region.as_i64(),
                    o.site.map(|s| s.0),
                    o.description,
                    o.contact_name,
                    o.contact_phone,
                    to_json(&o.service_categories),
                    micros(audit.at),
                ])
            })
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            if let Some(volunteer) = admin {
                insert_membership_row(
                    tx,
                    &NewMembership {
                        org: OrgId(id),
                        volunteer,
                        role: MembershipRole::Admin,
                        status: MembershipStatus::Active,
                        at: audit.at,
                        decided_by: audit.actor,
                    },
                )?;
            }
            write_audit(tx, &audit, Some(id.to_string()))?;
            get_org(tx, id)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn get_org(&self, id: OrgId) -> Result<Option<OrgRecord>> {
        self.lookup(move |c| get_org(c, id.0)).await
    }

    async fn update_org(&self, o: &OrgRecord, audit: &AuditEntry) -> Result<OrgRecord> {
        let (o, audit) = (o.clone(), audit.clone());
        self.write(move |tx| {
            let n = &o.org;
            let changed = tx
                .execute(
                    "UPDATE organisations SET name = ?3, credit_code = ?4, site_id = ?5,
                        description = ?6, contact_name = ?7, contact_phone = ?8,
                        service_categories = ?9, updated_at = ?10, version = version + 1
                     WHERE id = ?1 AND version = ?2",
                    params![
                        o.id.0,
                        o.version,
                        n.name,
                        n.credit_code,
                        n.site.map(|s| s.0),
                        n.description,
                        n.contact_name,
                        n.contact_phone,
                        to_json(&n.service_categories),
                        micros(audit.at)
                    ],
                )
                .map_err(store_err)?;
            expect_one(changed)?;
            write_audit(tx, &audit, None)?;
            get_org(tx, o.id.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn list_orgs(&self, q: &OrgQuery, page: &PageRequest) -> Result<Page<OrgRecord>> {
        let (lo, hi) = q.within.map_or((0, i64::MAX), RegionCode::subtree);
        let parent = q.parent.map(|p| p.0);
        let site = q.site.map(|s| s.0);
        let after = page.after.clone().map_or((0, 0), |c| (c.key(0), c.key(1)));
        let limit = page.limit;
        let sql = format!(
            "SELECT {ORG_COLUMNS} FROM organisations
             WHERE region_code >= ?1 AND region_code < ?2 AND (region_code, id) > (?3, ?4)
               AND {} AND {}
             ORDER BY region_code, id LIMIT ?7",
            eq_filter("parent_id", 5, parent.is_some()),
            eq_filter("site_id", 6, site.is_some()),
        );
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(
                    params![lo, hi, after.0, after.1, parent, site, limit + 1],
                    org_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |o| {
                vec![o.org.region.as_i64(), o.id.0]
            }))
        })
        .await
    }

    async fn insert_membership(
        &self,
        m: &NewMembership,
        audit: &AuditEntry,
    ) -> Result<MembershipRecord> {
        let (m, audit) = (m.clone(), audit.clone());
        self.write(move |tx| {
            let id = insert_membership_row(tx, &m)?;
            write_audit(tx, &audit, Some(id.to_string()))?;
            get_membership(tx, id)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn get_membership(&self, id: MembershipId) -> Result<Option<MembershipRecord>> {
        self.lookup(move |c| get_membership(c, id.0)).await
    }

    async fn update_membership(
        &self,
        m: &MembershipRecord,
        audit: &AuditEntry,
    ) -> Result<MembershipRecord> {
        let (m, audit) = (m.clone(), audit.clone());
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE memberships SET role = ?3, status = ?4, applied_at = ?5,
                        decided_at = ?6, decided_by = ?7, version = version + 1
                     WHERE id = ?1 AND version = ?2",
                    params![
                        m.id.0,
                        m.version,
                        m.role.as_str(),
                        m.status.as_str(),
                        micros(m.applied_at),
                        m.decided_at.map(micros),
                        m.decided_by.map(|a| a.0)
                    ],
                )
                .map_err(store_err)?;
            expect_one(changed)?;
            write_audit(tx, &audit, None)?;
            get_membership(tx, m.id.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn list_memberships(
        &self,
        q: &MembershipQuery,
        page: &PageRequest,
    ) -> Result<Page<MembershipRecord>> {
        let org = q.org.map(|o| o.0);
        let volunteer = q.volunteer.map(|v| v.0);
        let status = q.status.map(MembershipStatus::as_str);
        let after = page.after.as_ref().map_or(0, |c| c.key(0));
        let limit = page.limit;
        let sql = memberships_sql(org.is_some(), volunteer.is_some());
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(
                    params![after, org, volunteer, status, limit + 1],
                    membership_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |m| vec![m.id.0]))
        })
        .await
    }

    async fn volunteer_orgs(&self, volunteer: VolunteerId) -> Result<Vec<OrgFacts>> {
        self.lookup(move |c| {
            c.prepare_cached(
                "SELECT o.id, o.region_code, o.site_id FROM memberships m
                 JOIN organisations o ON o.id = m.org_id
                 WHERE m.volunteer_id = ?1 AND m.status IN ('pending', 'active')",
            )?
            .query_map([volunteer.0], |row| {
                Ok(OrgFacts {
                    id: OrgId(row.get(0)?),
                    region: region(row, 1)?,
                    site: row.get::<_, Option<i64>>(2)?.map(SiteId),
                })
            })?
            .collect()
        })
        .await
    }
}
