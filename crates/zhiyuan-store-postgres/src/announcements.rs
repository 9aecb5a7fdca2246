//! Announcements between app servers sharing the database (migration 0029), stamped by
//! PostgreSQL's clock.

use async_trait::async_trait;
use time::OffsetDateTime;
use zhiyuan_store::{Announcement, AnnouncementStore, Result};

use crate::PgStore;
use crate::conv::{get, pg_err};

#[async_trait]
impl AnnouncementStore for PgStore {
    async fn announce(&self, message: &str) -> Result<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("INSERT INTO announcements (message) VALUES ($1)")
            .await
            .map_err(pg_err)?;
        client.execute(&stmt, &[&message]).await.map_err(pg_err)?;
        Ok(())
    }

    async fn announcement_clock(&self) -> Result<OffsetDateTime> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT clock_timestamp()")
            .await
            .map_err(pg_err)?;
        let row = client.query_one(&stmt, &[]).await.map_err(pg_err)?;
        get(&row, 0)
    }

    async fn announcements_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Announcement>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id, at, message FROM announcements WHERE at >= $1
                 ORDER BY at, id LIMIT $2",
            )
            .await
            .map_err(pg_err)?;
        client
            .query(&stmt, &[&since, &i64::from(limit)])
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| {
                Ok(Announcement {
                    id: get(r, 0)?,
                    at: get(r, 1)?,
                    message: get(r, 2)?,
                })
            })
            .collect()
    }

    async fn purge_announcements(&self, before: OffsetDateTime) -> Result<u64> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("DELETE FROM announcements WHERE at < $1")
            .await
            .map_err(pg_err)?;
        client.execute(&stmt, &[&before]).await.map_err(pg_err)
    }
}
