//! Star rules, applications, objections and certified stars.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::{Date, OffsetDateTime};
use tokio_postgres::Row;
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::stars::{StarRules, StarStatus};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, NewStarApplication, Page, PageRequest, Result, StarApplication, StarApplicationId,
    StarFacts, StarObjection, StarQuery, StarStore, StoreError, VolunteerStar,
};

use zhiyuan_store::ledger::{LedgerKind, star_content, star_revocation_content};

use crate::PgStore;
use crate::conv::{
    conv, eq_filter, expect_one, get, json, pg_err, range, region, to_json, write_audit,
};
use crate::ledger;
use crate::recognition::recognised_on;
use crate::records::totals_on;

const SELECT: &str = "SELECT a.id, a.volunteer_id, a.star, a.label, a.certifier_region,
    a.minutes, a.applied_at, v.name, v.number, a.status, a.notice_from, a.notice_until,
    a.decided_at, a.decided_by, a.reason, a.version
    FROM star_applications a JOIN volunteers v ON v.id = a.volunteer_id";

pub(crate) fn from_row(row: &Row) -> Result<StarApplication> {
    Ok(StarApplication {
        id: StarApplicationId(get(row, 0)?),
        application: NewStarApplication {
            volunteer: VolunteerId(get(row, 1)?),
            star: conv(row, 2, |s: i64| u8::try_from(s).ok())?,
            label: get(row, 3)?,
            certifier: region(row, 4)?,
            minutes: get(row, 5)?,
            applied_at: get(row, 6)?,
        },
        volunteer_name: get(row, 7)?,
        volunteer_number: conv(row, 8, VolunteerNumber::from_i64)?,
        status: conv(row, 9, |s: &str| StarStatus::parse(s))?,
        notice_from: get(row, 10)?,
        notice_until: get(row, 11)?,
        decided_at: get(row, 12)?,
        decided_by: get::<Option<i64>>(row, 13)?.map(AccountId),
        reason: get(row, 14)?,
        version: get(row, 15)?,
    })
}

/// Applications in id order after `$1`, `$2` of them, for the ledger audit.
pub(crate) fn page_after_sql() -> String {
    format!("{SELECT} WHERE a.id > $1 ORDER BY a.id LIMIT $2")
}

async fn fetch(c: &impl GenericClient, id: i64) -> Result<Option<StarApplication>> {
    let stmt = c
        .prepare_cached(&format!("{SELECT} WHERE a.id = $1"))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(pg_err)?;
    row.as_ref().map(from_row).transpose()
}

/// Sets a volunteer's star to the highest still certified (0 when none), keeping a bar.
async fn recompute_star(
    c: &impl GenericClient,
    volunteer: i64,
    barred_until: Option<Date>,
) -> Result<()> {
    let best = c
        .query_opt(
            &c.prepare_cached(
                "SELECT id, star, label, decided_at FROM star_applications
             WHERE volunteer_id = $1 AND status = 'certified'
             ORDER BY star DESC, id DESC LIMIT 1",
            )
            .await
            .map_err(pg_err)?,
            &[&volunteer],
        )
        .await
        .map_err(pg_err)?;
    let (app, star, label, at): (Option<i64>, i64, Option<String>, Option<OffsetDateTime>) =
        match &best {
            Some(r) => (Some(get(r, 0)?), get(r, 1)?, Some(get(r, 2)?), get(r, 3)?),
            None => (None, 0, None, None),
        };
    c.execute(
        &c.prepare_cached(
            "INSERT INTO volunteer_stars (volunteer_id, star, label, application_id, certified_at,
            barred_until) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (volunteer_id) DO UPDATE SET star = excluded.star, label = excluded.label,
            application_id = excluded.application_id, certified_at = excluded.certified_at,
            barred_until = coalesce(excluded.barred_until, volunteer_stars.barred_until)",
        )
        .await
        .map_err(pg_err)?,
        &[&volunteer, &star, &label, &app, &at, &barred_until],
    )
    .await
    .map_err(pg_err)?;
    Ok(())
}

#[async_trait]
impl StarStore for PgStore {
    async fn star_rules_for(&self, regions: &[RegionCode]) -> Result<Vec<(RegionCode, StarRules)>> {
        rules_on(&self.client().await?, regions).await
    }

    async fn star_facts(
        &self,
        volunteer: VolunteerId,
        regions: &[RegionCode],
        year: i32,
    ) -> Result<StarFacts> {
        // On one connection, so the five statements go out pipelined.
        let c = &self.client().await?;
        let (latest, page) = StarFacts::latest_applications(volunteer);
        let (rules, totals, recognised, certified, applications) = tokio::try_join!(
            rules_on(c, regions),
            totals_on(c, volunteer, year),
            recognised_on(c, volunteer),
            star_on(c, volunteer),
            applications_on(c, &latest, &page),
        )?;
        Ok(StarFacts {
            rules,
            totals,
            recognised,
            certified,
            applications: applications.items,
        })
    }

    async fn set_star_rules(
        &self,
        region: RegionCode,
        rules: &StarRules,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        tx.execute(
            &tx.prepare_cached(
                "INSERT INTO star_rules (region_code, rules, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (region_code) DO UPDATE SET rules = excluded.rules,
                updated_at = excluded.updated_at",
            )
            .await
            .map_err(pg_err)?,
            &[&region.as_i64(), &to_json(rules), &audit.at],
        )
        .await
        .map_err(pg_err)?;
        write_audit(&tx, audit, None).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn insert_star_application(
        &self,
        a: &NewStarApplication,
        audit: &AuditEntry,
    ) -> Result<StarApplication> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO star_applications (volunteer_id, star, label, certifier_region,
                    minutes, status, applied_at) VALUES ($1, $2, $3, $4, $5, 'applied', $6)
                 RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &a.volunteer.0,
                    &i64::from(a.star),
                    &a.label,
                    &a.certifier.as_i64(),
                    &a.minutes,
                    &a.applied_at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let out = fetch(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn get_star_application(&self, id: StarApplicationId) -> Result<Option<StarApplication>> {
        fetch(&self.client().await?, id.0).await
    }

    async fn update_star_application(
        &self,
        a: &StarApplication,
        barred_until: Option<Date>,
        audit: &AuditEntry,
    ) -> Result<StarApplication> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE star_applications SET status = $3, notice_from = $4, notice_until = $5,
                    decided_at = $6, decided_by = $7, reason = $8, version = version + 1
                 WHERE id = $1 AND version = $2",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &a.id.0,
                    &a.version,
                    &a.status.as_str(),
                    &a.notice_from,
                    &a.notice_until,
                    &a.decided_at,
                    &a.decided_by.map(|x| x.0),
                    &a.reason,
                ],
            )
            .await
            .map_err(pg_err)?;
        expect_one(changed)?;
        if matches!(a.status, StarStatus::Certified | StarStatus::Revoked) {
            recompute_star(&tx, a.application.volunteer.0, barred_until).await?;
        }
        write_audit(&tx, audit, None).await?;
        let out = fetch(&tx, a.id.0).await?.ok_or(StoreError::NotFound)?;
        ledger::append_if(&tx, LedgerKind::Star, out.id.0, star_content(&out)).await?;
        let revoked = star_revocation_content(&out);
        ledger::append_if(&tx, LedgerKind::StarRevocation, out.id.0, revoked).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn list_star_applications(
        &self,
        q: &StarQuery,
        page: &PageRequest,
    ) -> Result<Page<StarApplication>> {
        applications_on(&self.client().await?, q, page).await
    }

    async fn insert_star_objection(
        &self,
        application: StarApplicationId,
        text: &str,
        contact: Option<&str>,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<StarObjection> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO star_objections (application_id, text, contact, created_at)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[&application.0, &text, &contact, &at],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(StarObjection {
            id,
            application,
            text: text.to_owned(),
            contact: contact.map(str::to_owned),
            created_at: at,
        })
    }

    async fn list_star_objections(
        &self,
        application: StarApplicationId,
    ) -> Result<Vec<StarObjection>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "SELECT id, text, contact, created_at FROM star_objections
                 WHERE application_id = $1 ORDER BY id",
                    )
                    .await
                    .map_err(pg_err)?,
                &[&application.0],
            )
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                Ok(StarObjection {
                    id: get(r, 0)?,
                    application,
                    text: get(r, 1)?,
                    contact: get(r, 2)?,
                    created_at: get(r, 3)?,
                })
            })
            .collect()
    }

    async fn volunteer_star(&self, volunteer: VolunteerId) -> Result<Option<VolunteerStar>> {
        star_on(&self.client().await?, volunteer).await
    }
}

/// The rule sets set on any of `regions`.
async fn rules_on(
    client: &impl GenericClient,
    regions: &[RegionCode],
) -> Result<Vec<(RegionCode, StarRules)>> {
    let codes: Vec<i64> = regions.iter().map(|r| r.as_i64()).collect();
    let stmt = client
        .prepare_cached("SELECT region_code, rules FROM star_rules WHERE region_code = ANY($1)")
        .await
        .map_err(pg_err)?;
    let rows = client.query(&stmt, &[&codes]).await.map_err(pg_err)?;
    rows.iter()
        .map(|r| Ok((region(r, 0)?, json(r, 1)?)))
        .collect()
}

async fn applications_on(
    client: &impl GenericClient,
    q: &StarQuery,
    page: &PageRequest,
) -> Result<Page<StarApplication>> {
    let (lo, hi) = range(q.within);
    let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
    let filter = eq_filter("a.volunteer_id", 4, "BIGINT", q.volunteer.is_some());
    let stmt = client
        .prepare_cached(&format!(
            "{SELECT} WHERE {filter} AND a.id < $1
               AND a.certifier_region >= $2 AND a.certifier_region < $3
               AND ($5::TEXT IS NULL OR a.status = $5)
             ORDER BY a.id DESC LIMIT $6"
        ))
        .await
        .map_err(pg_err)?;
    let rows = client
        .query(
            &stmt,
            &[
                &before,
                &lo,
                &hi,
                &q.volunteer.map(|v| v.0),
                &q.status.map(StarStatus::as_str),
                &(i64::from(page.limit) + 1),
            ],
        )
        .await
        .map_err(pg_err)?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |a| vec![a.id.0]))
}

/// A volunteer's certified star, if any.
async fn star_on(
    client: &impl GenericClient,
    volunteer: VolunteerId,
) -> Result<Option<VolunteerStar>> {
    let stmt = client
        .prepare_cached(
            "SELECT star, label, certified_at, barred_until FROM volunteer_stars
             WHERE volunteer_id = $1",
        )
        .await
        .map_err(pg_err)?;
    let row = client
        .query_opt(&stmt, &[&volunteer.0])
        .await
        .map_err(pg_err)?;
    row.map(|r| {
        Ok(VolunteerStar {
            star: conv(&r, 0, |s: i64| u8::try_from(s).ok())?,
            label: get(&r, 1)?,
            certified_at: get(&r, 2)?,
            barred_until: get(&r, 3)?,
        })
    })
    .transpose()
}
