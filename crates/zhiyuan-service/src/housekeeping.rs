//! Work the server does on its own, periodically: closing attendance people forgot to
//! close, escalating orders nobody took in time, flagging records overdue (Art. 11),
//! purging expired sessions, announcements older than an hour, login attempts whose
//! window has passed and idempotency keys older than a day.

use time::{Duration, OffsetDateTime};

use crate::Zhiyuan;
use crate::error::Result;

/// Sessions deleted per statement, so that a large backlog never holds the writer long.
const PURGE_BATCH: u32 = 10_000;

impl Zhiyuan {
    /// Deletes every session that expired before `now`, a batch at a time; returns how
    /// many. A token whose session is gone is refused as an unknown one, exactly as an
    /// expired one is.
    pub async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64> {
        let mut purged = 0;
        loop {
            let n = self
                .0
                .store
                .delete_expired_sessions(now, PURGE_BATCH)
                .await?;
            purged += n;
            if n < u64::from(PURGE_BATCH) {
                return Ok(purged);
            }
        }
    }
}

/// Runs the periodic work every `every` until the app stops. With several app servers
/// each runs it; every job is idempotent.
pub fn spawn_housekeeping(app: Zhiyuan, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every.unsigned_abs());
        loop {
            tick.tick().await;
            let now = OffsetDateTime::now_utc();
            match app.close_forgotten_checkouts(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(closed = n, "closed forgotten check-outs"),
                Err(e) => tracing::warn!(error = ?e, "closing forgotten check-outs failed"),
            }
            match app.escalate_due_orders(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(escalated = n, "escalated orders nobody took in time"),
                Err(e) => tracing::warn!(error = ?e, "escalating orders failed"),
            }
            match app.flag_overdue_records(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(flagged = n, "flagged shifts with records overdue"),
                Err(e) => tracing::warn!(error = ?e, "flagging overdue records failed"),
            }
            match app.purge_expired_sessions(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged expired sessions"),
                Err(e) => tracing::warn!(error = ?e, "purging expired sessions failed"),
            }
            let kept = now - crate::announce::KEPT;
            if let Err(e) = app.store().purge_announcements(kept).await {
                tracing::warn!(error = ?e, "purging old announcements failed");
            }
            let keys_kept = now - crate::idempotency::KEYS_KEPT;
            if let Err(e) = app.store().purge_keyed(keys_kept).await {
                tracing::warn!(error = ?e, "purging old idempotency keys failed");
            }
            let window_start = now - app.config().login_limits.window;
            if let Err(e) = app.store().purge_login_attempts(window_start, now).await {
                tracing::warn!(error = ?e, "purging old login attempts failed");
            }
        }
    })
}

/// Runs the ledger's sequencer: every `every`, integrates what was written and signs a
/// checkpoint, batch after batch while whole batches wait. Each app server may run one:
/// the store lets one integrate at a time and the others skip. A tick with nothing to do
/// costs one read without a lock (`ledger_has_work`): the integration's transaction locks
/// the tree's row, which on PostgreSQL takes a transaction id and writes WAL, five times
/// a second on every app server.
pub fn spawn_sequencer(app: Zhiyuan, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // When the question fails, the integration's own error is the one to report.
            if matches!(app.store().ledger_has_work().await, Ok(false)) {
                continue;
            }
            if let Err(e) = app.integrate_waiting(&|_| {}).await {
                tracing::warn!(error = ?e, "integrating the ledger failed");
            }
        }
    })
}
