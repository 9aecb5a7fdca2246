//! Announcements between app servers sharing the database (migration 0029). With SQLite
//! those are processes on one machine, so its clock is the database's.

use async_trait::async_trait;
use rusqlite::params;
use time::OffsetDateTime;
use zhiyuan_store::{Announcement, AnnouncementStore, Result};

use crate::SqliteStore;
use crate::conv::{micros, store_err, time};

#[async_trait]
impl AnnouncementStore for SqliteStore {
    async fn announce(&self, message: &str) -> Result<()> {
        let message = message.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("INSERT INTO announcements (at, message) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![micros(OffsetDateTime::now_utc()), message]))
                .map_err(store_err)?;
            Ok(())
        })
        .await
    }

    async fn announcement_clock(&self) -> Result<OffsetDateTime> {
        Ok(OffsetDateTime::now_utc())
    }

    async fn announcements_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Announcement>> {
        self.lookup(move |c| {
            c.prepare_cached(
                "SELECT id, at, message FROM announcements WHERE at >= ?1
                 ORDER BY at, id LIMIT ?2",
            )?
            .query_map(params![micros(since), limit], |r| {
                Ok(Announcement {
                    id: r.get(0)?,
                    at: time(r, 1)?,
                    message: r.get(2)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn purge_announcements(&self, before: OffsetDateTime) -> Result<u64> {
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM announcements WHERE at < ?1")
                .and_then(|mut s| s.execute([micros(before)]))
                .map(|n| n as u64)
                .map_err(store_err)
        })
        .await
    }
}
