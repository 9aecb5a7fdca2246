//! Volunteers and their registration.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::{Date, OffsetDateTime};
use tokio_postgres::Row;
use zhiyuan_domain::document::DocumentKind;
use zhiyuan_domain::ids::{OrgId, VolunteerId};
use zhiyuan_domain::person::Gender;
use zhiyuan_domain::registration::Guardian;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, NewVolunteer, Page, PageRequest, Result, StoreError, VolunteerProfile,
    VolunteerQuery, VolunteerRecord, VolunteerStore,
};

use crate::PgStore;
use crate::conv::{conv, expect_one, get, json, pg_err, range, region, to_json, write_audit};

const COLUMNS: &str = "id, number, name, gender, birth_date, document_kind, document_country,
    document_masked, residence_region, phone, skills, service_categories, guardian_name,
    guardian_phone, guardian_consented_at, privacy_consent_version, privacy_consented_at,
    version, created_at, updated_at";

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
    }
}

const INSERT_UNNEST: &str = "INSERT INTO volunteers (number, name, gender, birth_date,
        document_kind, document_country, document_ciphertext, document_hmac, document_masked,
        residence_region, phone, skills, service_categories, guardian_name, guardian_phone,
        guardian_consented_at, privacy_consent_version, privacy_consented_at, created_at,
        updated_at)
    SELECT n, na, g, b, k, c, ct, h, m, r, p, s, sc, gn, gp, ga, cv, t, t, t
    FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::DATE[], $5::TEXT[], $6::TEXT[],
        $7::BYTEA[], $8::BYTEA[], $9::TEXT[], $10::BIGINT[], $11::TEXT[], $12::JSONB[],
        $13::JSONB[], $14::TEXT[], $15::TEXT[], $16::TIMESTAMPTZ[], $17::TEXT[],
        $18::TIMESTAMPTZ[])
        AS u(n, na, g, b, k, c, ct, h, m, r, p, s, sc, gn, gp, ga, cv, t)
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
            ],
        )
        .await
        .map_err(pg_err)?;
    rows.iter().map(|r| Ok((get(r, 0)?, get(r, 1)?))).collect()
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
        client.batch_execute("ANALYZE").await.map_err(pg_err)
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
                let client = store.client().await?;
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
        audit: &AuditEntry,
    ) -> Result<VolunteerRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let p = &v.profile;
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE volunteers SET name = $3, residence_region = $4, phone = $5,
                    skills = $6, service_categories = $7, updated_at = $8,
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
                    &audit.at,
                ],
            )
            .await
            .map_err(pg_err)?;
        expect_one(changed)?;
        tx.execute(
            &tx.prepare_cached("UPDATE accounts SET display_name = $2 WHERE volunteer_id = $1")
                .await
                .map_err(pg_err)?,
            &[&v.id.0, &p.name],
        )
        .await
        .map_err(pg_err)?;
        write_audit(&tx, audit, None).await?;
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
        let client = self.client().await?;
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
