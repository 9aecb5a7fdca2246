//! Mutual recognition: the trust registry, challenges and recognitions.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use zhiyuan_domain::ids::VolunteerId;
use zhiyuan_store::{
    AuditEntry, NewPartner, NewRecognition, Partner, RecognisedMinutes, Recognition,
    RecognitionStore, Result, StoreError,
};

use crate::PgStore;
use crate::conv::{expect_one, get, json, pg_err, to_json, write_audit};

const PARTNER: &str = "SELECT id, name, jurisdiction, url, did, issuer_key, log_origin, log_keys,
    counts_toward_stars, counts_toward_incentives, active, updated_at, version FROM partners";

fn partner_row(row: &Row) -> Result<Partner> {
    Ok(Partner {
        id: get(row, 0)?,
        partner: NewPartner {
            name: get(row, 1)?,
            jurisdiction: get(row, 2)?,
            url: get(row, 3)?,
            did: get(row, 4)?,
            issuer_key: get(row, 5)?,
            log_origin: get(row, 6)?,
            log_keys: json(row, 7)?,
            counts_toward_stars: get(row, 8)?,
            counts_toward_incentives: get(row, 9)?,
            active: get(row, 10)?,
        },
        updated_at: get(row, 11)?,
        version: get(row, 12)?,
    })
}

async fn partner_where(
    c: &impl GenericClient,
    filter: &str,
    arg: &(dyn tokio_postgres::types::ToSql + Sync),
) -> Result<Option<Partner>> {
    let stmt = c
        .prepare_cached(&format!("{PARTNER} WHERE {filter} = $1"))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[arg]).await.map_err(pg_err)?;
    row.as_ref().map(partner_row).transpose()
}

const RECOGNITION: &str = "SELECT id, volunteer_id, partner_id, partner_subject, partner_name,
    credential_id, minutes, records, star, bundle, imported_at FROM recognitions";

fn recognition_row(row: &Row) -> Result<Recognition> {
    Ok(Recognition {
        id: get(row, 0)?,
        recognition: NewRecognition {
            volunteer: VolunteerId(get(row, 1)?),
            partner: get(row, 2)?,
            partner_subject: get(row, 3)?,
            partner_name: get(row, 4)?,
            credential_id: get(row, 5)?,
            minutes: get(row, 6)?,
            records: get(row, 7)?,
            star: get(row, 8)?,
            bundle: get(row, 9)?,
            imported_at: get(row, 10)?,
        },
    })
}

#[async_trait]
impl RecognitionStore for PgStore {
    async fn insert_partner(&self, p: &NewPartner, audit: &AuditEntry) -> Result<Partner> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO partners (name, jurisdiction, url, did, issuer_key, log_origin,
                    log_keys, counts_toward_stars, counts_toward_incentives, active, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &p.name,
                    &p.jurisdiction,
                    &p.url,
                    &p.did,
                    &p.issuer_key,
                    &p.log_origin,
                    &to_json(&p.log_keys),
                    &p.counts_toward_stars,
                    &p.counts_toward_incentives,
                    &p.active,
                    &audit.at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let out = partner_where(&tx, "id", &id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn update_partner(&self, p: &Partner, audit: &AuditEntry) -> Result<Partner> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let n = &p.partner;
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE partners SET name = $3, jurisdiction = $4, url = $5, did = $6,
                    issuer_key = $7, log_origin = $8, log_keys = $9,
                    counts_toward_stars = $10, counts_toward_incentives = $11,
                    active = $12, updated_at = $13, version = version + 1
                 WHERE id = $1 AND version = $2",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &p.id,
                    &p.version,
                    &n.name,
                    &n.jurisdiction,
                    &n.url,
                    &n.did,
                    &n.issuer_key,
                    &n.log_origin,
                    &to_json(&n.log_keys),
                    &n.counts_toward_stars,
                    &n.counts_toward_incentives,
                    &n.active,
                    &audit.at,
                ],
            )
            .await
            .map_err(pg_err)?;
        expect_one(changed)?;
        write_audit(&tx, audit, None).await?;
        let out = partner_where(&tx, "id", &p.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn get_partner(&self, id: i64) -> Result<Option<Partner>> {
        partner_where(&self.client().await?, "id", &id).await
    }

    async fn partner_by_did(&self, did: &str) -> Result<Option<Partner>> {
        partner_where(&self.client().await?, "did", &did).await
    }

    async fn list_partners(&self) -> Result<Vec<Partner>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!("{PARTNER} ORDER BY id"))
                    .await
                    .map_err(pg_err)?,
                &[],
            )
            .await
            .map_err(pg_err)?;
        rows.iter().map(partner_row).collect()
    }

    async fn insert_recognition_challenge(
        &self,
        challenge: &str,
        volunteer: VolunteerId,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let client = self.client().await?;
        // Spent and expired challenges refuse the same either way: drop them.
        client
            .execute(
                &client
                    .prepare_cached("DELETE FROM recognition_challenges WHERE expires_at < now()")
                    .await
                    .map_err(pg_err)?,
                &[],
            )
            .await
            .map_err(pg_err)?;
        client
            .execute(
                &client
                    .prepare_cached(
                        "INSERT INTO recognition_challenges (challenge, volunteer_id, expires_at)
                 VALUES ($1, $2, $3)",
                    )
                    .await
                    .map_err(pg_err)?,
                &[&challenge, &volunteer.0, &expires_at],
            )
            .await
            .map_err(pg_err)?;
        Ok(())
    }

    async fn import_recognition(
        &self,
        r: &NewRecognition,
        challenge: &str,
        audit: &AuditEntry,
    ) -> Result<Recognition> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        // Spending the challenge first also serialises two imports of one volunteer.
        let spent = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE recognition_challenges SET used_at = $3
                 WHERE challenge = $1 AND volunteer_id = $2 AND used_at IS NULL
                   AND expires_at >= $3",
                )
                .await
                .map_err(pg_err)?,
                &[&challenge, &r.volunteer.0, &r.imported_at],
            )
            .await
            .map_err(pg_err)?;
        if spent != 1 {
            return Err(StoreError::Conflict { field: "challenge" });
        }
        let holder = tx
            .query_opt(
                &tx.prepare_cached(
                    "SELECT volunteer_id FROM recognitions
                 WHERE partner_id = $1 AND partner_subject = $2",
                )
                .await
                .map_err(pg_err)?,
                &[&r.partner, &r.partner_subject],
            )
            .await
            .map_err(pg_err)?;
        if let Some(row) = holder
            && get::<i64>(&row, 0)? != r.volunteer.0
        {
            return Err(StoreError::Conflict {
                field: "partner_subject",
            });
        }
        let linked = tx
            .query_opt(
                &tx.prepare_cached(
                    "SELECT partner_subject FROM recognitions
                 WHERE volunteer_id = $1 AND partner_id = $2",
                )
                .await
                .map_err(pg_err)?,
                &[&r.volunteer.0, &r.partner],
            )
            .await
            .map_err(pg_err)?;
        if let Some(row) = linked
            && get::<String>(&row, 0)? != r.partner_subject
        {
            return Err(StoreError::Conflict { field: "partner" });
        }
        // A race the checks above lost ends on the unique indexes, named for the field.
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO recognitions (volunteer_id, partner_id, partner_subject,
                    partner_name, credential_id, minutes, records, star, bundle, imported_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (volunteer_id, partner_id) DO UPDATE SET
                    partner_name = excluded.partner_name,
                    credential_id = excluded.credential_id, minutes = excluded.minutes,
                    records = excluded.records, star = excluded.star,
                    bundle = excluded.bundle, imported_at = excluded.imported_at
                 RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &r.volunteer.0,
                    &r.partner,
                    &r.partner_subject,
                    &r.partner_name,
                    &r.credential_id,
                    &r.minutes,
                    &r.records,
                    &r.star,
                    &r.bundle,
                    &r.imported_at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let row = tx
            .query_one(
                &tx.prepare_cached(&format!("{RECOGNITION} WHERE id = $1"))
                    .await
                    .map_err(pg_err)?,
                &[&id],
            )
            .await
            .map_err(pg_err)?;
        let out = recognition_row(&row)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }

    async fn list_recognitions(&self, volunteer: VolunteerId) -> Result<Vec<Recognition>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!(
                        "{RECOGNITION} WHERE volunteer_id = $1 ORDER BY id"
                    ))
                    .await
                    .map_err(pg_err)?,
                &[&volunteer.0],
            )
            .await
            .map_err(pg_err)?;
        rows.iter().map(recognition_row).collect()
    }

    async fn delete_recognition(
        &self,
        volunteer: VolunteerId,
        id: i64,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let gone = tx
            .execute(
                &tx.prepare_cached("DELETE FROM recognitions WHERE id = $1 AND volunteer_id = $2")
                    .await
                    .map_err(pg_err)?,
                &[&id, &volunteer.0],
            )
            .await
            .map_err(pg_err)?;
        if gone != 1 {
            return Err(StoreError::NotFound);
        }
        write_audit(&tx, audit, None).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn recognised_minutes(&self, volunteer: VolunteerId) -> Result<RecognisedMinutes> {
        recognised_on(&self.client().await?, volunteer).await
    }
}

/// A volunteer's recognised minutes, and the share the partners' policies count.
pub(crate) async fn recognised_on(
    client: &impl GenericClient,
    volunteer: VolunteerId,
) -> Result<RecognisedMinutes> {
    let row = client
        .query_one(
            &client
                .prepare_cached(
                    "SELECT COALESCE(SUM(r.minutes), 0)::BIGINT,
                COALESCE(SUM(r.minutes) FILTER (WHERE p.counts_toward_stars), 0)::BIGINT,
                COALESCE(SUM(r.minutes) FILTER (WHERE p.counts_toward_incentives), 0)::BIGINT
             FROM recognitions r JOIN partners p ON p.id = r.partner_id
             WHERE r.volunteer_id = $1",
                )
                .await
                .map_err(pg_err)?,
            &[&volunteer.0],
        )
        .await
        .map_err(pg_err)?;
    Ok(RecognisedMinutes {
        minutes: get(&row, 0)?,
        toward_stars: get(&row, 1)?,
        toward_incentives: get(&row, 2)?,
    })
}
