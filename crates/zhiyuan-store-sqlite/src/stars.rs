//! Star rules, applications, objections and certified stars.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use time::{Date, OffsetDateTime};
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::stars::{StarRules, StarStatus};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, NewStarApplication, Page, PageRequest, RecognitionStore, RecordStore, Result,
    StarApplication, StarApplicationId, StarFacts, StarObjection, StarQuery, StarStore, StoreError,
    VolunteerStar,
};

use zhiyuan_store::ledger::{LedgerKind, star_content, star_revocation_content};

use crate::SqliteStore;
use crate::conv::{
    col, date, date_text, expect_one, json, micros, opt_time, region, store_err, time, to_json,
    write_audit,
};
use crate::ledger;

const SELECT: &str = "SELECT a.id, a.volunteer_id, a.star, a.label, a.certifier_region,
    a.minutes, a.applied_at, v.name, v.number, a.status, a.notice_from, a.notice_until,
    a.decided_at, a.decided_by, a.reason, a.version
    FROM star_applications a JOIN volunteers v ON v.id = a.volunteer_id";

fn opt_date(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Date>> {
    match row.get::<_, Option<String>>(idx)? {
        None => Ok(None),
        Some(_) => date(row, idx).map(Some),
    }
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<StarApplication> {
    Ok(StarApplication {
        id: StarApplicationId(row.get(0)?),
        application: NewStarApplication {
            volunteer: VolunteerId(row.get(1)?),
            star: row.get(2)?,
            label: row.get(3)?,
            certifier: region(row, 4)?,
            minutes: row.get(5)?,
            applied_at: time(row, 6)?,
        },
        volunteer_name: row.get(7)?,
        volunteer_number: col(row, 8, VolunteerNumber::from_i64)?,
        status: col(row, 9, |s: String| StarStatus::parse(&s))?,
        notice_from: opt_date(row, 10)?,
        notice_until: opt_date(row, 11)?,
        decided_at: opt_time(row, 12)?,
        decided_by: row.get::<_, Option<i64>>(13)?.map(AccountId),
        reason: row.get(14)?,
        version: row.get(15)?,
    })
}

/// Applications in id order after `after`, for the ledger audit.
pub(crate) fn page_after(
    c: &Connection,
    after: i64,
    limit: u32,
) -> rusqlite::Result<Vec<StarApplication>> {
    c.prepare_cached(&format!("{SELECT} WHERE a.id > ?1 ORDER BY a.id LIMIT ?2"))?
        .query_map(params![after, limit], from_row)?
        .collect()
}

fn get(c: &Connection, id: i64) -> rusqlite::Result<Option<StarApplication>> {
    c.prepare_cached(&format!("{SELECT} WHERE a.id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

/// Sets a volunteer's star to the highest still certified (0 when none), keeping a bar.
fn recompute_star(tx: &Transaction<'_>, volunteer: i64, barred_until: Option<Date>) -> Result<()> {
    let best: Option<(i64, u8, String, i64)> = tx
        .query_row(
            "SELECT id, star, label, decided_at FROM star_applications
             WHERE volunteer_id = ?1 AND status = 'certified'
             ORDER BY star DESC, id DESC LIMIT 1",
            [volunteer],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(store_err)?;
    let (app, star, label, at) = match best {
        Some((a, s, l, t)) => (Some(a), s, Some(l), Some(t)),
        None => (None, 0, None, None),
    };
    tx.execute(
        "INSERT INTO volunteer_stars (volunteer_id, star, label, application_id, certified_at,
            barred_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (volunteer_id) DO UPDATE SET star = excluded.star, label = excluded.label,
            application_id = excluded.application_id, certified_at = excluded.certified_at,
            barred_until = coalesce(excluded.barred_until, volunteer_stars.barred_until)",
        params![volunteer, star, label, app, at, barred_until.map(date_text)],
    )
    .map_err(store_err)?;
    Ok(())
}

#[async_trait]
impl StarStore for SqliteStore {
    async fn star_facts(
        &self,
        volunteer: VolunteerId,
        regions: &[RegionCode],
        year: i32,
    ) -> Result<StarFacts> {
        // Each read is a lookup on the pool of readers, so they run side by side.
        let (latest, page) = StarFacts::latest_applications(volunteer);
        let (rules, totals, recognised, certified, applications) = tokio::try_join!(
            self.star_rules_for(regions),
            self.totals(volunteer, year),
            self.recognised_minutes(volunteer),
            self.volunteer_star(volunteer),
            self.list_star_applications(&latest, &page),
        )?;
        Ok(StarFacts {
            rules,
            totals,
            recognised,
            certified,
            applications: applications.items,
        })
    }

    async fn star_rules_for(&self, regions: &[RegionCode]) -> Result<Vec<(RegionCode, StarRules)>> {
        let regions = regions.to_vec();
        self.lookup(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT rules FROM star_rules WHERE region_code = ?1")?;
            let mut out = Vec::new();
            for r in regions {
                if let Some(rules) = stmt
                    .query_row([r.as_i64()], |row| json::<StarRules>(row, 0))
                    .optional()?
                {
                    out.push((r, rules));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn set_star_rules(
        &self,
        region: RegionCode,
        rules: &StarRules,
        audit: &AuditEntry,
    ) -> Result<()> {
        let (rules, audit) = (rules.clone(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO star_rules (region_code, rules, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (region_code) DO UPDATE SET rules = excluded.rules,
                    updated_at = excluded.updated_at",
                params![region.as_i64(), to_json(&rules), micros(audit.at)],
            )
            .map_err(store_err)?;
            write_audit(tx, &audit, None)
        })
        .await
    }

    async fn insert_star_application(
        &self,
        a: &NewStarApplication,
        audit: &AuditEntry,
    ) -> Result<StarApplication> {
        let (a, audit) = (a.clone(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO star_applications (volunteer_id, star, label, certifier_region,
                    minutes, status, applied_at) VALUES (?1, ?2, ?3, ?4, ?5, 'applied', ?6)",
                params![
                    a.volunteer.0,
                    a.star,
                    a.label,
                    a.certifier.as_i64(),
                    a.minutes,
                    micros(a.applied_at)
                ],
            )
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            write_audit(tx, &audit, Some(id.to_string()))?;
            get(tx, id).map_err(store_err)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn get_star_application(&self, id: StarApplicationId) -> Result<Option<StarApplication>> {
        self.lookup(move |c| get(c, id.0)).await
    }

    async fn update_star_application(
        &self,
        a: &StarApplication,
        barred_until: Option<Date>,
        audit: &AuditEntry,
    ) -> Result<StarApplication> {
        let (a, audit) = (a.clone(), audit.clone());
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE star_applications SET status = ?3, notice_from = ?4,
                        notice_until = ?5, decided_at = ?6, decided_by = ?7, reason = ?8,
                        version = version + 1
                     WHERE id = ?1 AND version = ?2",
                    params![
                        a.id.0,
                        a.version,
                        a.status.as_str(),
                        a.notice_from.map(date_text),
                        a.notice_until.map(date_text),
                        a.decided_at.map(micros),
                        a.decided_by.map(|x| x.0),
                        a.reason
                    ],
                )
                .map_err(store_err)?;
            expect_one(changed)?;
            if matches!(a.status, StarStatus::Certified | StarStatus::Revoked) {
                recompute_star(tx, a.application.volunteer.0, barred_until)?;
            }
            write_audit(tx, &audit, None)?;
            let now = get(tx, a.id.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)?;
            ledger::append_if(tx, LedgerKind::Star, now.id.0, star_content(&now))?;
            let revoked = star_revocation_content(&now);
            ledger::append_if(tx, LedgerKind::StarRevocation, now.id.0, revoked)?;
            Ok(now)
        })
        .await
    }

    async fn list_star_applications(
        &self,
        q: &StarQuery,
        page: &PageRequest,
    ) -> Result<Page<StarApplication>> {
        let (lo, hi) = q.within.map_or((0, i64::MAX), RegionCode::subtree);
        let volunteer = q.volunteer.map(|v| v.0);
        let status = q.status.map(StarStatus::as_str);
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let limit = page.limit;
        // One volunteer's applications are few and indexed by volunteer: a lookup.
        let (filter, short) = match volunteer {
            Some(_) => ("a.volunteer_id = ?4", true),
            None => ("?4 IS NULL", false),
        };
        let sql = format!(
            "{SELECT} WHERE {filter} AND a.id < ?1
               AND a.certifier_region >= ?2 AND a.certifier_region < ?3
               AND (?5 IS NULL OR a.status = ?5)
             ORDER BY a.id DESC LIMIT ?6"
        );
        let query = move |c: &Connection| {
            let rows = c
                .prepare_cached(&sql)?
                .query_map(
                    params![before, lo, hi, volunteer, status, limit + 1],
                    from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |a| vec![a.id.0]))
        };
        if short {
            self.lookup(query).await
        } else {
            self.read(query).await
        }
    }

    async fn insert_star_objection(
        &self,
        application: StarApplicationId,
        text: &str,
        contact: Option<&str>,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<StarObjection> {
        let (text, contact, audit) = (text.to_owned(), contact.map(str::to_owned), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO star_objections (application_id, text, contact, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![application.0, text, contact, micros(at)],
            )
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            write_audit(tx, &audit, Some(id.to_string()))?;
            Ok(StarObjection {
                id,
                application,
                text,
                contact,
                created_at: at,
            })
        })
        .await
    }

    async fn list_star_objections(
        &self,
        application: StarApplicationId,
    ) -> Result<Vec<StarObjection>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT id, text, contact, created_at FROM star_objections
                 WHERE application_id = ?1 ORDER BY id",
            )?
            .query_map([application.0], |r| {
                Ok(StarObjection {
                    id: r.get(0)?,
                    application,
                    text: r.get(1)?,
                    contact: r.get(2)?,
                    created_at: time(r, 3)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn volunteer_star(&self, volunteer: VolunteerId) -> Result<Option<VolunteerStar>> {
        self.lookup(move |c| {
            c.prepare_cached(
                "SELECT star, label, certified_at, barred_until FROM volunteer_stars
                 WHERE volunteer_id = ?1",
            )?
            .query_row([volunteer.0], |r| {
                Ok(VolunteerStar {
                    star: r.get(0)?,
                    label: r.get(1)?,
                    certified_at: opt_time(r, 2)?,
                    barred_until: opt_date(r, 3)?,
                })
            })
            .optional()
        })
        .await
    }
}
