//! Volunteers and their registration.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::{Date, OffsetDateTime};
use tokio_postgres::Row;
use zhiyuan_domain::document::DocumentKind;
use zhiyuan_domain::ids::{OrgId, VolunteerId};
use zhiyuan_domain::matching::{Availability, ServiceArea, category_bits, cell_of};
use zhiyuan_domain::person::Gender;
use zhiyuan_domain::registration::Guardian;
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, MatchQuery, MatchRow, NewVolunteer, Page, PageRequest, Result, StoreError,
    VolunteerProfile, VolunteerQuery, VolunteerRecord, VolunteerStore, audited_at,
};

use crate::PgStore;
use crate::conv::{
    conv, expect_one, get, json, pg_err, range, region, to_json, write_audit, write_audit_in_each,
};

const COLUMNS: &str = "id, number, name, gender, birth_date, document_kind, document_country,
    document_masked, residence_region, phone, skills, service_categories, guardian_name,
    guardian_phone, guardian_consented_at, privacy_consent_version, privacy_consented_at,
    version, created_at, updated_at, service_lat, service_lng, availability";

fn from_row(row: &Row) -> Result<VolunteerRecord> {
    let guardian_name: Option<String> = get(row, 12)?;
    let guardian_phone: Option<String> = get(row, 13)?;
    let guardian_at: Option<OffsetDateTime> = get(row, 14)?;
    Ok(VolunteerRecord {
        id: VolunteerId(get(row, 0)?),
        number: conv(row, 1, VolunteerNumber::from_i64)?,
        gender: conv(row, 3, |s: &str| Gender::parse(s))?,
        birth_date: get(row, 4)?,
        document_kind: conv(row, 5, |s: &str| DocumentKind::parse(s))?,
        document_country: get(row, 6)?,
        document_masked: get(row, 7)?,
        profile: VolunteerProfile {
            name: get(row, 2)?,
            residence_region: region(row, 8)?,
            phone: get(row, 9)?,
            skills: json(row, 10)?,
            service_categories: json(row, 11)?,
            service: match (get(row, 20)?, get(row, 21)?) {
                (Some(lat), Some(lng)) => Some(ServiceArea {
                    location: GeoPoint { lat, lng },
                    availability: Availability::from_bits(get::<i32>(row, 22)? as u32),
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
        privacy_consent_version: get(row, 15)?,
        privacy_consented_at: get(row, 16)?,
        version: get(row, 17)?,
        created_at: get(row, 18)?,
        updated_at: get(row, 19)?,
    })
}

/// The volunteers of `ids` that exist.
pub(crate) async fn fetch_ids(c: &impl GenericClient, ids: &[i64]) -> Result<Vec<VolunteerRecord>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM volunteers WHERE id = ANY($1)"
        ))
        .await
        .map_err(pg_err)?;
    let rows = c.query(&stmt, &[&ids]).await.map_err(pg_err)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn fetch_by(
    c: &impl GenericClient,
    column: &str,
    value: i64,
) -> Result<Option<VolunteerRecord>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM volunteers WHERE {column} = $1"
        ))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&value]).await.map_err(pg_err)?;
    row.as_ref().map(from_row).transpose()
}

/// Column arrays for `INSERT ... SELECT FROM UNNEST(...)`: one statement for a whole batch.
#[derive(Default)]
struct Columns {
    number: Vec<i64>,
    name: Vec<String>,
    gender: Vec<&'static str>,
    birth_date: Vec<Date>,
    kind: Vec<&'static str>,
    country: Vec<Option<String>>,
    ciphertext: Vec<Vec<u8>>,
    hmac: Vec<Vec<u8>>,
    masked: Vec<String>,
    region: Vec<i64>,
    phone: Vec<String>,
    skills: Vec<serde_json::Value>,
    categories: Vec<serde_json::Value>,
    guardian_name: Vec<Option<String>>,
    guardian_phone: Vec<Option<String>>,
    guardian_at: Vec<Option<OffsetDateTime>>,
    consent: Vec<String>,
    at: Vec<OffsetDateTime>,
    service_lat: Vec<Option<f64>>,
    service_lng: Vec<Option<f64>>,
    availability: Vec<i32>,
}

impl Columns {
    fn push(&mut self, v: &NewVolunteer) {
        let p = &v.profile;
        self.number.push(v.number.as_i64());
        self.name.push(p.name.clone());
        self.gender.push(v.gender.as_str());
        self.birth_date.push(v.birth_date);
        self.kind.push(v.document.kind.as_str());
        self.country.push(v.document.country.clone());
        self.ciphertext.push(v.document.ciphertext.clone());
        self.hmac.push(v.document.identity_hmac.clone());
        self.masked.push(v.document.masked.clone());
        self.region.push(p.residence_region.as_i64());
        self.phone.push(p.phone.clone());
        self.skills.push(to_json(&p.skills));
        self.categories.push(to_json(&p.service_categories));
        self.guardian_name
            .push(v.guardian.as_ref().map(|g| g.name.clone()));
        self.guardian_phone
            .push(v.guardian.as_ref().map(|g| g.phone.clone()));
        self.guardian_at
            .push(v.guardian.as_ref().map(|g| g.consented_at));
        self.consent.push(v.privacy_consent_version.clone());
        self.at.push(v.registered_at);
        self.service_lat.push(p.service.map(|a| a.location.lat));
        self.service_lng.push(p.service.map(|a| a.location.lng));
        self.availability
            .push(p.service.map_or(0, |a| a.availability.bits() as i32));
    }
}

const INSERT_UNNEST: &str = "INSERT INTO volunteers (number, name, gender, birth_date,
        document_kind, document_country, document_ciphertext, document_hmac, document_masked,
        residence_region, phone, skills, service_categories, guardian_name, guardian_phone,
        guardian_consented_at, privacy_consent_version, privacy_consented_at, created_at,
        updated_at, service_lat, service_lng, availability)
    SELECT n, na, g, b, k, c, ct, h, m, r, p, s, sc, gn, gp, ga, cv, t, t, t, la, lo, av
    FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::DATE[], $5::TEXT[], $6::TEXT[],
        $7::BYTEA[], $8::BYTEA[], $9::TEXT[], $10::BIGINT[], $11::TEXT[], $12::JSONB[],
        $13::JSONB[], $14::TEXT[], $15::TEXT[], $16::TIMESTAMPTZ[], $17::TEXT[],
        $18::TIMESTAMPTZ[], $19::FLOAT8[], $20::FLOAT8[], $21::INT4[])
        AS u(n, na, g, b, k, c, ct, h, m, r, p, s, sc, gn, gp, ga, cv, t, la, lo, av)
    RETURNING id, number";

async fn insert_rows(c: &impl GenericClient, batch: &[&NewVolunteer]) -> Result<Vec<(i64, i64)>> {
    let mut cols = Columns::default();
    for v in batch {
        cols.push(v);
    }
    let stmt = c.prepare_cached(INSERT_UNNEST).await.map_err(pg_err)?;
    let rows = c
        .query(
            &stmt,
            &[
                &cols.number,
                &cols.name,
                &cols.gender,
                &cols.birth_date,
                &cols.kind,
                &cols.country,
                &cols.ciphertext,
                &cols.hmac,
                &cols.masked,
                &cols.region,
                &cols.phone,
                &cols.skills,
                &cols.categories,
                &cols.guardian_name,
                &cols.guardian_phone,
                &cols.guardian_at,
                &cols.consent,
                &cols.at,
                &cols.service_lat,
                &cols.service_lng,
                &cols.availability,
            ],
        )
        .await
        .map_err(pg_err)?;
    let ids: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
        .collect::<Result<_>>()?;
    let by_number: HashMap<i64, i64> = ids.iter().map(|(id, n)| (*n, *id)).collect();
    let entries: Vec<_> = batch
        .iter()
        .filter_map(|v| {
            let id = by_number.get(&v.number.as_i64())?;
            Some((*id, v.number, v.birth_date, &v.profile))
        })
        .collect();
    write_match_cells(c, &entries, false).await?;
    Ok(ids)
}

/// Indexes volunteers' service areas for matching: a row under '' and one per skill, in
/// the grid cell of the area's point (see 0015_matching.sql). `replace` clears old rows.
async fn write_match_cells(
    c: &impl GenericClient,
    entries: &[(i64, VolunteerNumber, Date, &VolunteerProfile)],
    replace: bool,
) -> Result<()> {
    if replace {
        let ids: Vec<i64> = entries.iter().map(|e| e.0).collect();
        c.execute(
            &c.prepare_cached("DELETE FROM match_cells WHERE volunteer_id = ANY($1)")
                .await
                .map_err(pg_err)?,
            &[&ids],
        )
        .await
        .map_err(pg_err)?;
    }
    #[derive(Default)]
    struct Rows {
        skill: Vec<String>,
        cell: Vec<i64>,
        id: Vec<i64>,
        number: Vec<i64>,
        name: Vec<String>,
        birth: Vec<Date>,
        lat: Vec<f64>,
        lng: Vec<f64>,
        categories: Vec<i64>,
        availability: Vec<i32>,
    }
    let mut r = Rows::default();
    for (id, number, birth, p) in entries {
        let Some(area) = p.service else { continue };
        for skill in std::iter::once("").chain(p.skills.iter().map(String::as_str)) {
            r.skill.push(skill.to_owned());
            r.cell.push(cell_of(area.location));
            r.id.push(*id);
            r.number.push(number.as_i64());
            r.name.push(p.name.clone());
            r.birth.push(*birth);
            r.lat.push(area.location.lat);
            r.lng.push(area.location.lng);
            r.categories.push(category_bits(&p.service_categories));
            r.availability.push(area.availability.bits() as i32);
        }
    }
    if r.id.is_empty() {
        return Ok(());
    }
    c.execute(
        &c.prepare_cached(
            "INSERT INTO match_cells (skill, cell, volunteer_id, number, name, birth_date, lat,
                lng, categories, availability)
             SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[],
                $5::TEXT[], $6::DATE[], $7::FLOAT8[], $8::FLOAT8[], $9::BIGINT[], $10::INT4[])",
        )
        .await
        .map_err(pg_err)?,
        &[
            &r.skill,
            &r.cell,
            &r.id,
            &r.number,
            &r.name,
            &r.birth,
            &r.lat,
            &r.lng,
            &r.categories,
            &r.availability,
        ],
    )
    .await
    .map_err(pg_err)?;
    Ok(())
}

#[async_trait]
impl VolunteerStore for PgStore {
    async fn insert_volunteer(
        &self,
        v: &NewVolunteer,
        audit: &AuditEntry,
    ) -> Result<VolunteerRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let (id, _) = insert_rows(&tx, &[v])
            .await?
            .pop()
            .ok_or(StoreError::NotFound)?;
        if let Some(hash) = &v.password_hash {
            tx.execute(
                &tx.prepare_cached(
                    "INSERT INTO accounts (login, display_name, password_hash, volunteer_id,
                    created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &v.number.to_string(),
                    &v.profile.name,
                    hash,
                    &id,
                    &v.registered_at,
                ],
            )
            .await
            .map_err(pg_err)?;
        }
        write_audit(&tx, audit, Some(v.number.to_string())).await?;
        let record = fetch_by(&tx, "id", id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn refresh_statistics(&self) -> Result<()> {
        let client = self.client().await?;
        // VACUUM too: it marks the loaded pages all-visible, which index-only scans
        // (the match cells') need.
        client.batch_execute("VACUUM ANALYZE").await.map_err(pg_err)
    }

    async fn insert_volunteers_bulk(
        &self,
        batch: &[(NewVolunteer, Option<OrgId>)],
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let volunteers: Vec<&NewVolunteer> = batch.iter().map(|(v, _)| v).collect();
        let ids: HashMap<i64, i64> = insert_rows(&tx, &volunteers)
            .await?
            .into_iter()
            .map(|(id, number)| (number, id))
            .collect();
        let (mut orgs, mut members, mut ats) = (Vec::new(), Vec::new(), Vec::new());
        for (v, team) in batch {
            if let (Some(org), Some(id)) = (team, ids.get(&v.number.as_i64())) {
                orgs.push(org.0);
                members.push(*id);
                ats.push(v.registered_at);
            }
        }
        tx.execute(
            &tx.prepare_cached("INSERT INTO memberships (org_id, volunteer_id, role, status, applied_at, decided_at)
             SELECT o, v, 'member', 'active', t, t
             FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TIMESTAMPTZ[]) AS u(o, v, t)").await.map_err(pg_err)?,
            &[&orgs, &members, &ats],
        )
        .await
        .map_err(pg_err)?;
        write_audit(&tx, audit, None).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn get_volunteer(&self, id: VolunteerId) -> Result<Option<VolunteerRecord>> {
        fetch_by(&self.client().await?, "id", id.0).await
    }

    async fn get_volunteer_by_number(
        &self,
        number: VolunteerNumber,
    ) -> Result<Option<VolunteerRecord>> {
        let store = self.clone();
        self.by_number
            .get(number.as_i64(), move |numbers| async move {
                let client = store.batch_client().await?;
                let stmt = client
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM volunteers WHERE number = ANY($1)"
                    ))
                    .await
                    .map_err(pg_err)?;
                let rows = client.query(&stmt, &[&numbers]).await.map_err(pg_err)?;
                rows.iter()
                    .map(|row| from_row(row).map(|v| (v.number.as_i64(), v)))
                    .collect()
            })
            .await
    }

    async fn update_volunteer(
        &self,
        v: &VolunteerRecord,
        audit: &[AuditEntry],
    ) -> Result<VolunteerRecord> {
        let at = audited_at(audit)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let p = &v.profile;
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE volunteers SET name = $3, residence_region = $4, phone = $5,
                    skills = $6, service_categories = $7, updated_at = $8,
                    service_lat = $9, service_lng = $10, availability = $11,
                    version = version + 1
                 WHERE id = $1 AND version = $2",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &v.id.0,
                    &v.version,
                    &p.name,
                    &p.residence_region.as_i64(),
                    &p.phone,
                    &to_json(&p.skills),
                    &to_json(&p.service_categories),
                    &at,
                    &p.service.map(|a| a.location.lat),
                    &p.service.map(|a| a.location.lng),
                    &p.service.map_or(0, |a| a.availability.bits() as i32),
                ],
            )
            .await
            .map_err(pg_err)?;
        expect_one(changed)?;
        write_match_cells(&tx, &[(v.id.0, v.number, v.birth_date, p)], true).await?;
        tx.execute(
            &tx.prepare_cached("UPDATE accounts SET display_name = $2 WHERE volunteer_id = $1")
                .await
                .map_err(pg_err)?,
            &[&v.id.0, &p.name],
        )
        .await
        .map_err(pg_err)?;
        write_audit_in_each(&tx, audit).await?;
        let record = fetch_by(&tx, "id", v.id.0)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn list_volunteers(
        &self,
        q: &VolunteerQuery,
        page: &PageRequest,
    ) -> Result<Page<VolunteerRecord>> {
        let (lo, hi) = range(q.within);
        let after = page.after.clone().map_or((0, 0), |c| (c.key(0), c.key(1)));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM volunteers
                 WHERE residence_region >= $1 AND residence_region < $2
                   AND (residence_region, id) > ($3, $4)
                 ORDER BY residence_region, id LIMIT $5"
            ))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[&lo, &hi, &after.0, &after.1, &(i64::from(page.limit) + 1)],
            )
            .await
            .map_err(pg_err)?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |v| {
            vec![v.profile.residence_region.as_i64(), v.id.0]
        }))
    }

    async fn count_volunteers(&self) -> Result<u64> {
        let client = self.client().await?;
        let row = client
            .query_one(
                &client
                    .prepare_cached("SELECT count(*) FROM volunteers")
                    .await
                    .map_err(pg_err)?,
                &[],
            )
            .await
            .map_err(pg_err)?;
        Ok(get::<i64>(&row, 0)? as u64)
    }

    async fn volunteer_id_bounds(&self) -> Result<Option<(i64, i64)>> {
        let client = self.client().await?;
        let row = client
            .query_one(
                &client
                    .prepare_cached("SELECT min(id), max(id) FROM volunteers")
                    .await
                    .map_err(pg_err)?,
                &[],
            )
            .await
            .map_err(pg_err)?;
        Ok(get::<Option<i64>>(&row, 0)?.zip(get::<Option<i64>>(&row, 1)?))
    }

    async fn volunteer_ids(
        &self,
        numbers: &[VolunteerNumber],
    ) -> Result<HashMap<VolunteerNumber, VolunteerId>> {
        let numbers: Vec<i64> = numbers.iter().map(|n| n.as_i64()).collect();
        // On a batch connection: a custom plan would look at each of the (many) numbers.
        let client = self.batch_client().await?;
        let stmt = client
            .prepare_cached("SELECT number, id FROM volunteers WHERE number = ANY($1)")
            .await
            .map_err(pg_err)?;
        let rows = client.query(&stmt, &[&numbers]).await.map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    conv(r, 0, VolunteerNumber::from_i64)?,
                    VolunteerId(get(r, 1)?),
                ))
            })
            .collect()
    }

    async fn match_volunteers(&self, q: &MatchQuery) -> Result<Vec<MatchRow>> {
        let skills: Vec<&str> = if q.skills.is_empty() {
            vec![""]
        } else {
            q.skills.iter().map(String::as_str).collect()
        };
        let client = self.batch_client().await?;
        // One row per skill: a volunteer with every skill asked for has that many rows.
        // With one skill (or none) each volunteer has one row: no grouping needed.
        const SELECT: &str = "SELECT volunteer_id, number, name, birth_date, lat, lng,
                categories, availability
             FROM match_cells
             WHERE skill = ANY($1) AND cell = ANY($2)
               AND ($3::DATE IS NULL OR birth_date <= $3)
               AND lat BETWEEN $5 AND $6 AND lng BETWEEN $7 AND $8";
        let sql = if skills.len() > 1 {
            format!(
                "{SELECT} GROUP BY volunteer_id, number, name, birth_date, lat, lng, categories,
                    availability
                 HAVING count(*) = $4"
            )
        } else {
            format!("{SELECT} AND $4::BIGINT = 1")
        };
        let stmt = client.prepare_cached(&sql).await.map_err(pg_err)?;
        let ((lat0, lat1), (lng0, lng1)) = q.within;
        let rows = client
            .query(
                &stmt,
                &[
                    &skills,
                    &q.cells,
                    &q.born_on_or_before,
                    &(skills.len() as i64),
                    &lat0,
                    &lat1,
                    &lng0,
                    &lng1,
                ],
            )
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|row| {
                Ok(MatchRow {
                    volunteer: VolunteerId(get(row, 0)?),
                    number: conv(row, 1, VolunteerNumber::from_i64)?,
                    name: get(row, 2)?,
                    birth_date: get(row, 3)?,
                    location: GeoPoint {
                        lat: get(row, 4)?,
                        lng: get(row, 5)?,
                    },
                    categories: get(row, 6)?,
                    availability: Availability::from_bits(get::<i32>(row, 7)? as u32),
                })
            })
            .collect()
    }

    async fn document_ciphertext(&self, id: VolunteerId) -> Result<Option<Vec<u8>>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &client
                    .prepare_cached("SELECT document_ciphertext FROM volunteers WHERE id = $1")
                    .await
                    .map_err(pg_err)?,
                &[&id.0],
            )
            .await
            .map_err(pg_err)?;
        row.as_ref().map(|r| get(r, 0)).transpose()
    }
}
