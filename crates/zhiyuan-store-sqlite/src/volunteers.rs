//! Volunteers and their registration.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use zhiyuan_domain::document::DocumentKind;
use zhiyuan_domain::ids::{OrgId, VolunteerId};
use zhiyuan_domain::matching::{Availability, ServiceArea, category_bits, cell_of};
use zhiyuan_domain::org::{MembershipRole, MembershipStatus};
use zhiyuan_domain::person::Gender;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::registration::Guardian;
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, MatchQuery, MatchRow, NewMembership, NewVolunteer, Page, PageRequest, Result,
    StoreError, VolunteerProfile, VolunteerQuery, VolunteerRecord, VolunteerStore, audited_at,
};

use crate::SqliteStore;
use crate::conv::{
    col, date, date_text, expect_one, json, micros, opt_time, placeholders, region, store_err,
    time, to_json, write_audit, write_audit_in_each,
};
use crate::orgs::insert_membership_row;

const COLUMNS: &str = "id, number, name, gender, birth_date, document_kind, document_country,
    document_masked, residence_region, phone, skills, service_categories, guardian_name,
    guardian_phone, guardian_consented_at, privacy_consent_version, privacy_consented_at,
    version, created_at, updated_at, service_lat, service_lng, availability";

fn from_row(row: &Row<'_>) -> rusqlite::Result<VolunteerRecord> {
    let guardian_name: Option<String> = row.get(12)?;
    let guardian_phone: Option<String> = row.get(13)?;
    let guardian_at = opt_time(row, 14)?;
    Ok(VolunteerRecord {
        id: VolunteerId(row.get(0)?),
        number: col(row, 1, VolunteerNumber::from_i64)?,
        gender: col(row, 3, |s: String| Gender::parse(&s))?,
        birth_date: date(row, 4)?,
        document_kind: col(row, 5, |s: String| DocumentKind::parse(&s))?,
        document_country: row.get(6)?,
        document_masked: row.get(7)?,
        profile: VolunteerProfile {
            name: row.get(2)?,
            residence_region: region(row, 8)?,
            phone: row.get(9)?,
            skills: json(row, 10)?,
            service_categories: json(row, 11)?,
            service: match (row.get(20)?, row.get(21)?) {
                (Some(lat), Some(lng)) => Some(ServiceArea {
                    location: GeoPoint { lat, lng },
                    availability: Availability::from_bits(row.get(22)?),
                }),
                _ => None,
            },
        },
        guardian: match (guardian_name, guardian_phone, guardian_at) {
            (Some(name), Some(phone), Some(consented_at)) => Some(Guardian {
                name,
                phone,
                consented_at,
            }),
            _ => None,
        },
        privacy_consent_version: row.get(15)?,
        privacy_consented_at: time(row, 16)?,
        version: row.get(17)?,
        created_at: time(row, 18)?,
        updated_at: time(row, 19)?,
    })
}

pub(crate) fn get_by(
    c: &Connection,
    column: &str,
    value: i64,
) -> rusqlite::Result<Option<VolunteerRecord>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM volunteers WHERE {column} = ?1"
    ))?
    .query_row([value], from_row)
    .optional()
}

fn insert_row(tx: &Transaction<'_>, v: &NewVolunteer) -> Result<i64> {
    let g = v.guardian.as_ref();
    let p = &v.profile;
    tx.prepare_cached(
        "INSERT INTO volunteers (number, name, gender, birth_date, document_kind,
            document_country, document_ciphertext, document_hmac, document_masked,
            residence_region, phone, skills, service_categories, guardian_name, guardian_phone,
            guardian_consented_at, privacy_consent_version, privacy_consented_at, created_at,
            updated_at, service_lat, service_lng, availability)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
            ?18, ?18, ?18, ?19, ?20, ?21)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            v.number.as_i64(),
            p.name,
            v.gender.as_str(),
            date_text(v.birth_date),
            v.document.kind.as_str(),
            v.document.country,
            v.document.ciphertext,
            v.document.identity_hmac,
            v.document.masked,
            p.residence_region.as_i64(),
            p.phone,
            to_json(&p.skills),
            to_json(&p.service_categories),
            g.map(|g| &g.name),
            g.map(|g| &g.phone),
            g.map(|g| micros(g.consented_at)),
            v.privacy_consent_version,
            micros(v.registered_at),
            p.service.map(|a| a.location.lat),
            p.service.map(|a| a.location.lng),
            p.service.map_or(0, |a| a.availability.bits()),
        ])
    })
    .map_err(store_err)?;
    let id = tx.last_insert_rowid();
    write_match_cells(tx, id, v.number, v.birth_date, p, false)?;
    Ok(id)
}

/// Indexes a volunteer's service area for matching: a row under '' and one per skill, in
/// the grid cell of the area's point (see 0015_matching.sql). `replace` clears old rows.
fn write_match_cells(
    tx: &Transaction<'_>,
    id: i64,
    number: VolunteerNumber,
    birth_date: time::Date,
    p: &VolunteerProfile,
    replace: bool,
) -> Result<()> {
    if replace {
        tx.prepare_cached("DELETE FROM match_cells WHERE volunteer_id = ?1")
            .and_then(|mut stmt| stmt.execute([id]))
            .map_err(store_err)?;
    }
    let Some(area) = p.service else {
        return Ok(());
    };
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO match_cells (skill, cell, volunteer_id, number, name, birth_date, lat,
                lng, categories, availability)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(store_err)?;
    let (cell, birth, categories) = (
        cell_of(area.location),
        date_text(birth_date),
        category_bits(&p.service_categories),
    );
    for skill in std::iter::once("").chain(p.skills.iter().map(String::as_str)) {
        stmt.execute(params![
            skill,
            cell,
            id,
            number.as_i64(),
            p.name,
            birth,
            area.location.lat,
            area.location.lng,
            categories,
            area.availability.bits(),
        ])
        .map_err(store_err)?;
    }
    Ok(())
}

#[async_trait]
impl VolunteerStore for SqliteStore {
    async fn insert_volunteer(
        &self,
        v: &NewVolunteer,
        audit: &AuditEntry,
    ) -> Result<VolunteerRecord> {
        let (v, audit) = (v.clone(), audit.clone());
        self.write(move |tx| {
            let id = insert_row(tx, &v)?;
            if let Some(hash) = &v.password_hash {
                tx.execute(
                    "INSERT INTO accounts (login, display_name, password_hash, volunteer_id,
                        created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        v.number.to_string(),
                        v.profile.name,
                        hash,
                        id,
                        micros(v.registered_at)
                    ],
                )
                .map_err(store_err)?;
            }
            write_audit(tx, &audit, Some(v.number.to_string()))?;
            get_by(tx, "id", id)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn refresh_statistics(&self) -> Result<()> {
        // SQLite plans from the schema alone until ANALYZE is run, and every plan here
        // was chosen and measured that way; statistics would change them unmeasured.
        Ok(())
    }

    async fn insert_volunteers_bulk(
        &self,
        batch: &[(NewVolunteer, Option<OrgId>)],
        audit: &AuditEntry,
    ) -> Result<()> {
        let (batch, audit) = (batch.to_vec(), audit.clone());
        self.write(move |tx| {
            for (v, team) in &batch {
                let id = insert_row(tx, v)?;
                if let Some(org) = team {
                    insert_membership_row(
                        tx,
                        &NewMembership {
                            org: *org,
                            volunteer: VolunteerId(id),
                            role: MembershipRole::Member,
                            status: MembershipStatus::Active,
                            at: v.registered_at,
                            decided_by: None,
                        },
                    )?;
                }
            }
            write_audit(tx, &audit, None)
        })
        .await
    }

    async fn get_volunteer(&self, id: VolunteerId) -> Result<Option<VolunteerRecord>> {
        self.lookup(move |c| get_by(c, "id", id.0)).await
    }

    async fn get_volunteer_by_number(
        &self,
        number: VolunteerNumber,
    ) -> Result<Option<VolunteerRecord>> {
        self.lookup(move |c| get_by(c, "number", number.as_i64()))
            .await
    }

    async fn update_volunteer(
        &self,
        v: &VolunteerRecord,
        audit: &[AuditEntry],
    ) -> Result<VolunteerRecord> {
        let at = audited_at(audit)?;
        let (v, audit) = (v.clone(), audit.to_vec());
        self.write(move |tx| {
            let p = &v.profile;
            let changed = tx
                .execute(
                    "UPDATE volunteers SET name = ?3, residence_region = ?4, phone = ?5,
                        skills = ?6, service_categories = ?7, updated_at = ?8,
                        service_lat = ?9, service_lng = ?10, availability = ?11,
                        version = version + 1
                     WHERE id = ?1 AND version = ?2",
                    params![
                        v.id.0,
                        v.version,
                        p.name,
                        p.residence_region.as_i64(),
                        p.phone,
                        to_json(&p.skills),
                        to_json(&p.service_categories),
                        micros(at),
                        p.service.map(|a| a.location.lat),
                        p.service.map(|a| a.location.lng),
                        p.service.map_or(0, |a| a.availability.bits()),
                    ],
                )
                .map_err(store_err)?;
            expect_one(changed)?;
            write_match_cells(tx, v.id.0, v.number, v.birth_date, p, true)?;
            tx.execute(
                "UPDATE accounts SET display_name = ?2 WHERE volunteer_id = ?1",
                params![v.id.0, p.name],
            )
            .map_err(store_err)?;
            write_audit_in_each(tx, &audit)?;
            get_by(tx, "id", v.id.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn list_volunteers(
        &self,
        q: &VolunteerQuery,
        page: &PageRequest,
    ) -> Result<Page<VolunteerRecord>> {
        let (lo, hi) = q.within.map_or((0, i64::MAX), RegionCode::subtree);
        let after = page.after.clone().map_or((0, 0), |c| (c.key(0), c.key(1)));
        let limit = page.limit;
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM volunteers
                 WHERE residence_region >= ?1 AND residence_region < ?2
                   AND (residence_region, id) > (?3, ?4)
                 ORDER BY residence_region, id LIMIT ?5"
            ))?;
            let rows = stmt
                .query_map(params![lo, hi, after.0, after.1, limit + 1], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |v| {
                vec![v.profile.residence_region.as_i64(), v.id.0]
            }))
        })
        .await
    }

    async fn count_volunteers(&self) -> Result<u64> {
        self.read(|c| c.query_row("SELECT count(*) FROM volunteers", [], |r| r.get(0)))
            .await
    }

    async fn volunteer_id_bounds(&self) -> Result<Option<(i64, i64)>> {
        self.lookup(|c| {
            c.query_row("SELECT min(id), max(id) FROM volunteers", [], |r| {
                Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?))
            })
        })
        .await
    }

    async fn volunteer_ids(
        &self,
        numbers: &[VolunteerNumber],
    ) -> Result<std::collections::HashMap<VolunteerNumber, VolunteerId>> {
        // In order, so that consecutive lookups descend through the same index pages.
        let numbers: std::collections::BTreeSet<VolunteerNumber> =
            numbers.iter().copied().collect();
        self.read(move |c| {
            // One read transaction for all: one snapshot, and the locks taken once.
            let tx = c.unchecked_transaction()?;
            let mut stmt = tx.prepare_cached("SELECT id FROM volunteers WHERE number = ?1")?;
            let mut out = std::collections::HashMap::with_capacity(numbers.len());
            for n in numbers {
                if let Some(id) = stmt.query_row([n.as_i64()], |r| r.get(0)).optional()? {
                    out.insert(n, VolunteerId(id));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn match_volunteers(&self, q: &MatchQuery) -> Result<Vec<MatchRow>> {
        let q = q.clone();
        self.read(move |c| {
            let skills: Vec<&str> = if q.skills.is_empty() {
                vec![""]
            } else {
                q.skills.iter().map(String::as_str).collect()
            };
            let mut sql = format!(
                "SELECT volunteer_id, number, name, birth_date, lat, lng, categories, availability
                 FROM match_cells WHERE skill IN ({}) AND cell IN ({})",
                placeholders(1, skills.len()),
                placeholders(skills.len() + 1, q.cells.len())
            );
            let mut values: Vec<rusqlite::types::Value> = skills
                .iter()
                .map(|s| rusqlite::types::Value::Text((*s).to_owned()))
                .chain(q.cells.iter().map(|c| rusqlite::types::Value::Integer(*c)))
                .collect();
            let ((lat0, lat1), (lng0, lng1)) = q.within;
            for bound in [lat0, lat1, lng0, lng1] {
                values.push(rusqlite::types::Value::Real(bound));
            }
            let n = values.len();
            sql.push_str(&format!(
                " AND lat BETWEEN ?{} AND ?{} AND lng BETWEEN ?{} AND ?{}",
                n - 3,
                n - 2,
                n - 1,
                n
            ));
            if let Some(day) = q.born_on_or_before {
                values.push(rusqlite::types::Value::Text(date_text(day)));
                sql.push_str(&format!(" AND birth_date <= ?{}", values.len()));
            }
            if skills.len() > 1 {
                // Every skill: one row per skill, so a volunteer with all has them all.
                sql.push_str(&format!(
                    " GROUP BY volunteer_id HAVING count(*) = {}",
                    skills.len()
                ));
            }
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(values), |row| {
                Ok(MatchRow {
                    volunteer: VolunteerId(row.get(0)?),
                    number: col(row, 1, VolunteerNumber::from_i64)?,
                    name: row.get(2)?,
                    birth_date: date(row, 3)?,
                    location: GeoPoint {
                        lat: row.get(4)?,
                        lng: row.get(5)?,
                    },
                    categories: row.get(6)?,
                    availability: Availability::from_bits(row.get(7)?),
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn document_ciphertext(&self, id: VolunteerId) -> Result<Option<Vec<u8>>> {
        self.lookup(move |c| {
            c.prepare_cached("SELECT document_ciphertext FROM volunteers WHERE id = ?1")?
                .query_row([id.0], |r| r.get(0))
                .optional()
        })
        .await
    }
}
