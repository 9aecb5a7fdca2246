//! Requests sent with an `Idempotency-Key`.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;
use zhiyuan_store::{IdempotencyStore, KeptResponse, KeyedRequest, Result, StoreError};

use crate::SqliteStore;
use crate::conv::{micros, store_err};

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn begin_keyed(
        &self,
        key: &str,
        fingerprint: &[u8],
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<KeyedRequest> {
        let (key, fingerprint) = (key.to_owned(), fingerprint.to_vec());
        self.write(move |tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO idempotency_keys (key, fingerprint, started_at)
                     VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                )
                .and_then(|mut s| s.execute(params![key, fingerprint, micros(now)]))
                .map_err(store_err)?;
            if inserted == 1 {
                return Ok(KeyedRequest::Started);
            }
            let (known, started_at, status, headers, body) = tx
                .prepare_cached(
                    "SELECT fingerprint, started_at, status, headers, body
                     FROM idempotency_keys WHERE key = ?1",
                )
                .and_then(|mut s| {
                    s.query_row([&key], |r| {
                        Ok((
                            r.get::<_, Vec<u8>>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Option<u16>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, Option<Vec<u8>>>(4)?,
                        ))
                    })
                    .optional()
                })
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)?;
            if known != fingerprint {
                return Ok(KeyedRequest::Mismatch);
            }
            if let Some(status) = status {
                let headers = headers
                    .as_deref()
                    .map_or(Ok(Vec::new()), serde_json::from_str);
                return Ok(KeyedRequest::Answered(KeptResponse {
                    status,
                    headers: headers.map_err(StoreError::internal)?,
                    body: body.unwrap_or_default(),
                }));
            }
            if started_at >= micros(stale_before) {
                return Ok(KeyedRequest::InProgress);
            }
            tx.execute(
                "UPDATE idempotency_keys SET started_at = ?2 WHERE key = ?1",
                params![key, micros(now)],
            )
            .map_err(store_err)?;
            Ok(KeyedRequest::Started)
        })
        .await
    }

    async fn finish_keyed(&self, key: &str, answer: Option<&KeptResponse>) -> Result<()> {
        let key = key.to_owned();
        let answer = answer.cloned();
        self.write(move |tx| {
            match answer {
                Some(a) => tx.execute(
                    "UPDATE idempotency_keys SET status = ?2, headers = ?3, body = ?4
                     WHERE key = ?1",
                    params![
                        key,
                        a.status,
                        serde_json::to_string(&a.headers).unwrap_or_default(),
                        a.body
                    ],
                ),
                None => tx.execute("DELETE FROM idempotency_keys WHERE key = ?1", [key]),
            }
            .map_err(store_err)?;
            Ok(())
        })
        .await
    }

    async fn purge_keyed(&self, before: OffsetDateTime) -> Result<u64> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM idempotency_keys WHERE started_at < ?1",
                    params![micros(before)],
                )
                .map_err(store_err)?;
            Ok(n as u64)
        })
        .await
    }
}
