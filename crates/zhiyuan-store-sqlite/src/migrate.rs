//! Embedded migrations, applied in order and recorded in `zhiyuan_migrations`. The names
//! match the PostgreSQL folder one for one (a test checks it); applied files never change.

use rusqlite::Connection;
use zhiyuan_store::{Result, StoreError};

use crate::conv::{micros, store_err};

/// `(version, name, sql)` in order.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_foundation",
        include_str!("../migrations/0001_foundation.sql"),
    ),
    (
        2,
        "0002_activities",
        include_str!("../migrations/0002_activities.sql"),
    ),
    (
        3,
        "0003_corrections",
        include_str!("../migrations/0003_corrections.sql"),
    ),
    (
        4,
        "0004_overdue",
        include_str!("../migrations/0004_overdue.sql"),
    ),
    (
        5,
        "0005_stars",
        include_str!("../migrations/0005_stars.sql"),
    ),
    (
        6,
        "0006_certificates",
        include_str!("../migrations/0006_certificates.sql"),
    ),
    (
        7,
        "0007_search",
        include_str!("../migrations/0007_search.sql"),
    ),
    (
        8,
        "0008_signup_times",
        include_str!("../migrations/0008_signup_times.sql"),
    ),
    (
        9,
        "0009_day_minutes",
        include_str!("../migrations/0009_day_minutes.sql"),
    ),
    (
        10,
        "0010_session_expiry",
        include_str!("../migrations/0010_session_expiry.sql"),
    ),
    (
        11,
        "0011_ledger",
        include_str!("../migrations/0011_ledger.sql"),
    ),
    (
        12,
        "0012_recognition",
        include_str!("../migrations/0012_recognition.sql"),
    ),
    (
        13,
        "0013_orders",
        include_str!("../migrations/0013_orders.sql"),
    ),
    (
        14,
        "0014_talent",
        include_str!("../migrations/0014_talent.sql"),
    ),
    (
        15,
        "0015_matching",
        include_str!("../migrations/0015_matching.sql"),
    ),
    (
        16,
        "0016_notifications",
        include_str!("../migrations/0016_notifications.sql"),
    ),
    (
        17,
        "0017_order_activities",
        include_str!("../migrations/0017_order_activities.sql"),
    ),
    (
        18,
        "0018_entry_keys",
        include_str!("../migrations/0018_entry_keys.sql"),
    ),
    (
        19,
        "0019_order_tallies",
        include_str!("../migrations/0019_order_tallies.sql"),
    ),
    (
        20,
        "0020_recorded_signups",
        include_str!("../migrations/0020_recorded_signups.sql"),
    ),
    (
        21,
        "0021_overdue_flags",
        include_str!("../migrations/0021_overdue_flags.sql"),
    ),
    (
        22,
        "0022_records_mark_in_the_store",
        include_str!("../migrations/0022_records_mark_in_the_store.sql"),
    ),
    (
        23,
        "0023_activity_events",
        include_str!("../migrations/0023_activity_events.sql"),
    ),
    (
        24,
        "0024_ledger_vacuum",
        include_str!("../migrations/0024_ledger_vacuum.sql"),
    ),
    (
        25,
        "0025_ledger_pending_index",
        include_str!("../migrations/0025_ledger_pending_index.sql"),
    ),
    (
        26,
        "0026_signups_flagged",
        include_str!("../migrations/0026_signups_flagged.sql"),
    ),
    (
        27,
        "0027_signups_volunteer_time_cover",
        include_str!("../migrations/0027_signups_volunteer_time_cover.sql"),
    ),
    (
        28,
        "0028_shifts_owed",
        include_str!("../migrations/0028_shifts_owed.sql"),
    ),
    (
        29,
        "0029_announcements",
        include_str!("../migrations/0029_announcements.sql"),
    ),
    (
        30,
        "0030_grants_region",
        include_str!("../migrations/0030_grants_region.sql"),
    ),
    (
        31,
        "0031_login_failures_first_at",
        include_str!("../migrations/0031_login_failures_first_at.sql"),
    ),
    (
        32,
        "0032_signups_waitlist",
        include_str!("../migrations/0032_signups_waitlist.sql"),
    ),
    (
        33,
        "0033_audit_copies",
        include_str!("../migrations/0033_audit_copies.sql"),
    ),
    (
        34,
        "0034_records_by_volunteer",
        include_str!("../migrations/0034_records_by_volunteer.sql"),
    ),
    (
        35,
        "0035_idempotency_keys",
        include_str!("../migrations/0035_idempotency_keys.sql"),
    ),
    (
        36,
        "0036_calendar_links",
        include_str!("../migrations/0036_calendar_links.sql"),
    ),
    (
        37,
        "0037_idempotency_keys_by_key",
        include_str!("../migrations/0037_idempotency_keys_by_key.sql"),
    ),
];

/// Applies every migration not yet applied; returns how many ran.
pub(crate) fn migrate(conn: &mut Connection) -> Result<usize> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS zhiyuan_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL
        ) STRICT",
    )
    .map_err(store_err)?;
    let mut applied = 0;
    let mut latest = None;
    for (version, name, sql) in MIGRATIONS {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(store_err)?;
        let done: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM zhiyuan_migrations WHERE version = ?1)",
                [version],
                |r| r.get(0),
            )
            .map_err(store_err)?;
        if done {
            continue;
        }
        tx.execute_batch(sql)
            .map_err(|e| StoreError::corrupt(format!("migration {name} failed: {e}")))?;
        tx.execute(
            "INSERT INTO zhiyuan_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![version, name, micros(time::OffsetDateTime::now_utc())],
        )
        .map_err(store_err)?;
        tx.commit().map_err(store_err)?;
        tracing::debug!(migration = name, "applied migration");
        applied += 1;
        latest = Some(name);
    }
    if let Some(latest) = latest {
        tracing::info!(applied, latest, "migrated the database");
    }
    Ok(applied)
}
