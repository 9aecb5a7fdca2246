//! Requests sent with an `Idempotency-Key`.

use async_trait::async_trait;
use time::OffsetDateTime;
use zhiyuan_store::{IdempotencyStore, KeptResponse, KeyedRequest, Result, StoreError};

use crate::PgStore;
use crate::conv::{get, pg_err};

/// One attempt at [`IdempotencyStore::begin_keyed`]: `None` when the key's row went
/// between the insert that met it and the read (its request forgotten or purged).
async fn try_begin(
    store: &PgStore,
    key: &str,
    fingerprint: &[u8],
    now: OffsetDateTime,
    stale_before: OffsetDateTime,
) -> Result<Option<KeyedRequest>> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(pg_err)?;
    // A second attempt arriving while the first's row is uncommitted waits here for it.
    let stmt = tx
        .prepare_cached(
            "INSERT INTO idempotency_keys (key, fingerprint, started_at)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .await
        .map_err(pg_err)?;
    if tx
        .execute(&stmt, &[&key, &fingerprint, &now])
        .await
        .map_err(pg_err)?
        == 1
    {
        tx.commit().await.map_err(pg_err)?;
        return Ok(Some(KeyedRequest::Started));
    }
    let stmt = tx
        .prepare_cached(
            "SELECT fingerprint, started_at, status, headers, body
             FROM idempotency_keys WHERE key = $1 FOR UPDATE",
        )
        .await
        .map_err(pg_err)?;
    let Some(row) = tx.query_opt(&stmt, &[&key]).await.map_err(pg_err)? else {
        return Ok(None);
    };
    let known: Vec<u8> = get(&row, 0)?;
    let started_at: OffsetDateTime = get(&row, 1)?;
    let status: Option<i32> = get(&row, 2)?;
    let state = if known != fingerprint {
        KeyedRequest::Mismatch
    } else if let Some(status) = status {
        let headers: Option<serde_json::Value> = get(&row, 3)?;
        let headers = headers.map_or(Ok(Vec::new()), serde_json::from_value);
        KeyedRequest::Answered(KeptResponse {
            status: u16::try_from(status).map_err(StoreError::internal)?,
            headers: headers.map_err(StoreError::internal)?,
            body: get::<Option<Vec<u8>>>(&row, 4)?.unwrap_or_default(),
        })
    } else if started_at >= stale_before {
        KeyedRequest::InProgress
    } else {
        let stmt = tx
            .prepare_cached("UPDATE idempotency_keys SET started_at = $2 WHERE key = $1")
            .await
            .map_err(pg_err)?;
        tx.execute(&stmt, &[&key, &now]).await.map_err(pg_err)?;
        KeyedRequest::Started
    };
    tx.commit().await.map_err(pg_err)?;
    Ok(Some(state))
}

#[async_trait]
impl IdempotencyStore for PgStore {
    async fn begin_keyed(
        &self,
        key: &str,
        fingerprint: &[u8],
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<KeyedRequest> {
        for _ in 0..3 {
            if let Some(state) = try_begin(self, key, fingerprint, now, stale_before).await? {
                return Ok(state);
            }
        }
        Err(StoreError::Unavailable(
            "an idempotency key kept changing hands".into(),
        ))
    }

    async fn finish_keyed(&self, key: &str, answer: Option<&KeptResponse>) -> Result<()> {
        let client = self.client().await?;
        match answer {
            Some(a) => {
                let stmt = client
                    .prepare_cached(
                        "UPDATE idempotency_keys SET status = $2, headers = $3, body = $4
                         WHERE key = $1",
                    )
                    .await
                    .map_err(pg_err)?;
                let headers = serde_json::to_value(&a.headers).map_err(StoreError::internal)?;
                client
                    .execute(&stmt, &[&key, &i32::from(a.status), &headers, &a.body])
                    .await
                    .map_err(pg_err)?;
            }
            None => {
                let stmt = client
                    .prepare_cached("DELETE FROM idempotency_keys WHERE key = $1")
                    .await
                    .map_err(pg_err)?;
                client.execute(&stmt, &[&key]).await.map_err(pg_err)?;
            }
        }
        Ok(())
    }

    async fn purge_keyed(&self, before: OffsetDateTime) -> Result<u64> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("DELETE FROM idempotency_keys WHERE started_at < $1")
            .await
            .map_err(pg_err)?;
        client.execute(&stmt, &[&before]).await.map_err(pg_err)
    }
}
