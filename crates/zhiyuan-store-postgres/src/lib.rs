//! PostgreSQL storage for production (`postgres://` URLs), through a deadpool of
//! tokio-postgres connections with cached prepared statements.
//!
//! Kept portable to distributed engines that speak the protocol: bigint identity keys,
//! no LISTEN/NOTIFY, no exclusion constraints, and a migration lock that can be turned off.

mod accounts;
mod announcements;
mod attendance;
mod audit;
mod certificates;
mod coalesce;
mod conn;
mod conv;
mod corrections;
mod idempotency;
mod ledger;
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

pub use conn::{MIGRATIONS, PgOptions, PgStore};

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        let client = self.client().await?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(conv::pg_err)?;
        Ok(())
    }
}
