//! Mutual recognition: the trust registry, challenges and recognitions.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;
use zhiyuan_domain::ids::VolunteerId;
use zhiyuan_store::{
    AuditEntry, NewPartner, NewRecognition, Partner, RecognisedMinutes, Recognition,
    RecognitionStore, Result, StoreError,
};

use crate::SqliteStore;
use crate::conv::{expect_one, json, micros, store_err, time, to_json, write_audit};

const PARTNER: &str = "SELECT id, name, jurisdiction, url, did, issuer_key, log_origin, log_keys,
    counts_toward_stars, counts_toward_incentives, active, updated_at, version FROM partners";

fn partner_row(row: &Row<'_>) -> rusqlite::Result<Partner> {
    Ok(Partner {
        id: row.get(0)?,
        partner: NewPartner {
            name: row.get(1)?,
            jurisdiction: row.get(2)?,
            url: row.get(3)?,
            did: row.get(4)?,
            issuer_key: row.get(5)?,
            log_origin: row.get(6)?,
            log_keys: json(row, 7)?,
            counts_toward_stars: row.get(8)?,
            counts_toward_incentives: row.get(9)?,
            active: row.get(10)?,
        },
        updated_at: time(row, 11)?,
        version: row.get(12)?,
    })
}

fn partner(c: &Connection, id: i64) -> Result<Partner> {
    c.prepare_cached(&format!("{PARTNER} WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id], partner_row).optional())
        .map_err(store_err)?
        .ok_or(StoreError::NotFound)
}

const RECOGNITION: &str = "SELECT id, volunteer_id, partner_id, partner_subject, partner_name,
    credential_id, minutes, records, star, bundle, imported_at FROM recognitions";

fn recognition_row(row: &Row<'_>) -> rusqlite::Result<Recognition> {
    Ok(Recognition {
        id: row.get(0)?,
        recognition: NewRecognition {
            volunteer: VolunteerId(row.get(1)?),
            partner: row.get(2)?,
            partner_subject: row.get(3)?,
            partner_name: row.get(4)?,
            credential_id: row.get(5)?,
            minutes: row.get(6)?,
            records: row.get(7)?,
            star: row.get(8)?,
            bundle: json(row, 9)?,
            imported_at: time(row, 10)?,
        },
    })
}

#[async_trait]
impl RecognitionStore for SqliteStore {
    async fn insert_partner(&self, p: &NewPartner, audit: &AuditEntry) -> Result<Partner> {
        let (p, audit) = (p.clone(), audit.clone());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO partners (name, jurisdiction, url, did, issuer_key, log_origin,
                    log_keys, counts_toward_stars, counts_toward_incentives, active, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    p.name,
                    p.jurisdiction,
                    p.url,
                    p.did,
                    p.issuer_key,
                    p.log_origin,
                    to_json(&p.log_keys),
                    p.counts_toward_stars,
                    p.counts_toward_incentives,
                    p.active,
                    micros(audit.at)
                ],
            )
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            write_audit(tx, &audit, Some(id.to_string()))?;
            partner(tx, id)
        })
        .await
    }

    async fn update_partner(&self, p: &Partner, audit: &AuditEntry) -> Result<Partner> {
        let (p, audit) = (p.clone(), audit.clone());
        self.write(move |tx| {
            let n = &p.partner;
            let changed = tx
                .execute(
                    "UPDATE partners SET name = ?3, jurisdiction = ?4, url = ?5, did = ?6,
                        issuer_key = ?7, log_origin = ?8, log_keys = ?9,
                        counts_toward_stars = ?10, counts_toward_incentives = ?11,
                        active = ?12, updated_at = ?13, version = version + 1
                     WHERE id = ?1 AND version = ?2",
                    params![
                        p.id,
                        p.version,
                        n.name,
                        n.jurisdiction,
                        n.url,
                        n.did,
                        n.issuer_key,
                        n.log_origin,
                        to_json(&n.log_keys),
                        n.counts_toward_stars,
                        n.counts_toward_incentives,
                        n.active,
                        micros(audit.at)
                    ],
                )
                .map_err(store_err)?;
            expect_one(changed)?;
            write_audit(tx, &audit, None)?;
            partner(tx, p.id)
        })
        .await
    }

    async fn get_partner(&self, id: i64) -> Result<Option<Partner>> {
        self.read(move |c| {
            c.prepare_cached(&format!("{PARTNER} WHERE id = ?1"))?
                .query_row([id], partner_row)
                .optional()
        })
        .await
    }

    async fn partner_by_did(&self, did: &str) -> Result<Option<Partner>> {
        let did = did.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("{PARTNER} WHERE did = ?1"))?
                .query_row([did], partner_row)
                .optional()
        })
        .await
    }

    async fn list_partners(&self) -> Result<Vec<Partner>> {
        self.read(move |c| {
            c.prepare_cached(&format!("{PARTNER} ORDER BY id"))?
                .query_map([], partner_row)?
                .collect()
        })
        .await
    }

    async fn insert_recognition_challenge(
        &self,
        challenge: &str,
        volunteer: VolunteerId,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let challenge = challenge.to_owned();
        self.write(move |tx| {
            // Spent and expired challenges refuse the same either way: drop them.
            tx.execute(
                "DELETE FROM recognition_challenges WHERE expires_at < ?1",
                [micros(OffsetDateTime::now_utc())],
            )
            .map_err(store_err)?;
            tx.execute(
                "INSERT INTO recognition_challenges (challenge, volunteer_id, expires_at)
                 VALUES (?1, ?2, ?3)",
                params![challenge, volunteer.0, micros(expires_at)],
            )
            .map_err(store_err)?;
            Ok(())
        })
        .await
    }

    async fn import_recognition(
        &self,
        r: &NewRecognition,
        challenge: &str,
        audit: &AuditEntry,
    ) -> Result<Recognition> {
        let (r, challenge, audit) = (r.clone(), challenge.to_owned(), audit.clone());
        self.write(move |tx| {
            let spent = tx
                .execute(
                    "UPDATE recognition_challenges SET used_at = ?3
                     WHERE challenge = ?1 AND volunteer_id = ?2 AND used_at IS NULL
                       AND expires_at >= ?3",
                    params![challenge, r.volunteer.0, micros(r.imported_at)],
                )
                .map_err(store_err)?;
            if spent != 1 {
                return Err(StoreError::Conflict { field: "challenge" });
            }
            let holder: Option<i64> = tx
                .query_row(
                    "SELECT volunteer_id FROM recognitions
                     WHERE partner_id = ?1 AND partner_subject = ?2",
                    params![r.partner, r.partner_subject],
                    |row| row.get(0),
                )
                .optional()
                .map_err(store_err)?;
            if holder.is_some_and(|v| v != r.volunteer.0) {
                return Err(StoreError::Conflict {
                    field: "partner_subject",
                });
            }
            let linked: Option<String> = tx
                .query_row(
                    "SELECT partner_subject FROM recognitions
                     WHERE volunteer_id = ?1 AND partner_id = ?2",
                    params![r.volunteer.0, r.partner],
                    |row| row.get(0),
                )
                .optional()
                .map_err(store_err)?;
            if linked.is_some_and(|s| s != r.partner_subject) {
                return Err(StoreError::Conflict { field: "partner" });
            }
            tx.execute(
                "INSERT INTO recognitions (volunteer_id, partner_id, partner_subject,
                    partner_name, credential_id, minutes, records, star, bundle, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (volunteer_id, partner_id) DO UPDATE SET
                    partner_name = excluded.partner_name,
                    credential_id = excluded.credential_id, minutes = excluded.minutes,
                    records = excluded.records, star = excluded.star,
                    bundle = excluded.bundle, imported_at = excluded.imported_at",
                params![
                    r.volunteer.0,
                    r.partner,
                    r.partner_subject,
                    r.partner_name,
                    r.credential_id,
                    r.minutes,
                    r.records,
                    r.star,
                    to_json(&r.bundle),
                    micros(r.imported_at)
                ],
            )
            .map_err(store_err)?;
            let out = tx
                .prepare_cached(&format!(
                    "{RECOGNITION} WHERE volunteer_id = ?1 AND partner_id = ?2"
                ))
                .and_then(|mut s| s.query_row(params![r.volunteer.0, r.partner], recognition_row))
                .map_err(store_err)?;
            write_audit(tx, &audit, Some(out.id.to_string()))?;
            Ok(out)
        })
        .await
    }

    async fn list_recognitions(&self, volunteer: VolunteerId) -> Result<Vec<Recognition>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "{RECOGNITION} WHERE volunteer_id = ?1 ORDER BY id"
            ))?
            .query_map([volunteer.0], recognition_row)?
            .collect()
        })
        .await
    }

    async fn delete_recognition(
        &self,
        volunteer: VolunteerId,
        id: i64,
        audit: &AuditEntry,
    ) -> Result<()> {
        let audit = audit.clone();
        self.write(move |tx| {
            let gone = tx
                .execute(
                    "DELETE FROM recognitions WHERE id = ?1 AND volunteer_id = ?2",
                    params![id, volunteer.0],
                )
                .map_err(store_err)?;
            if gone != 1 {
                return Err(StoreError::NotFound);
            }
            write_audit(tx, &audit, None)
        })
        .await
    }

    async fn recognised_minutes(&self, volunteer: VolunteerId) -> Result<RecognisedMinutes> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT COALESCE(SUM(r.minutes), 0),
                    COALESCE(SUM(CASE WHEN p.counts_toward_stars THEN r.minutes END), 0),
                    COALESCE(SUM(CASE WHEN p.counts_toward_incentives THEN r.minutes END), 0)
                 FROM recognitions r JOIN partners p ON p.id = r.partner_id
                 WHERE r.volunteer_id = ?1",
            )?
            .query_row([volunteer.0], |row| {
                Ok(RecognisedMinutes {
                    minutes: row.get(0)?,
                    toward_stars: row.get(1)?,
                    toward_incentives: row.get(2)?,
                })
            })
        })
        .await
    }
}
