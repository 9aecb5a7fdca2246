//! SQLite storage, the embedded default (`sqlite://./zhiyuan-data/zhiyuan.db`).
//!
//! One writer thread owns the writing connection and serialises writes (SQLite allows one
//! writer at a time anyway; queueing in-process is cheaper than busy-waiting on the file
//! lock). Writes that queue up while it works share one transaction, each in its own
//! savepoint (group commit). A pool of reader connections serves reads concurrently under
//! WAL on tokio's blocking threads.

mod accounts;
mod announcements;
mod attendance;
mod audit;
mod certificates;
mod conn;
mod conv;
mod corrections;
mod idempotency;
mod ledger;
mod migrate;
mod notify;
mod orders;
mod orgs;
#[cfg(test)]
mod plans;
mod projects;
mod recognition;
mod records;
mod regions;
mod signups;
mod sites;
mod stars;
mod talent;
mod volunteers;

use async_trait::async_trait;
use zhiyuan_store::{Result, Store};

pub use conn::SqliteStore;
pub use migrate::MIGRATIONS;

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        self.lookup(|c| c.query_row("SELECT 1", [], |_| Ok(())))
            .await
    }
}
