//! The connection pool, opening, and migrations.

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::{NoTls, Row};
use zhiyuan_store::{Result, StoreError};

use std::sync::Arc;

use time::Date;
use zhiyuan_domain::ids::VolunteerId;
use zhiyuan_store::{
    AttendanceRecord, OrgRecord, ProjectRecord, ShiftRecord, SignupMade, SignupRecord,
    VolunteerRecord,
};

use crate::coalesce::{Coalescer, Gather, Queued};
use crate::conv::pg_err;

/// `(version, name, sql)` in order; names match the SQLite folder one for one.
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

/// An arbitrary constant naming zhiyuan's migration advisory lock.
const MIGRATION_LOCK: i64 = 0x7a68_6979_7561_6e00;

/// How to connect.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections in each of the two pools (statements; batched statements).
    pub pool_size: usize,
    /// Take an advisory lock while migrating, so that several app servers starting at
    /// once migrate one at a time. Turn off for engines without advisory locks.
    pub migration_lock: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            migration_lock: true,
        }
    }
}

/// Pairs of keys, for `(a, b) IN KEY_PAIRS` (see [`PgStore::query_pairs`]).
pub(crate) const KEY_PAIRS: &str = "(SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[]))";

/// Lookup batches in flight at once (see [`crate::coalesce`]).
const LOOKUP_BATCHES: usize = 4;

/// Group-committed writes (sign-ups, check-ins, check-outs) in flight at once, for each
/// kind; writes arriving meanwhile wait for the next batch. Measured on two cores at 32
/// concurrent sign-ups (PERFORMANCE.md): 4 made batches of about 5 and 1,800–2,700/s, 2
/// batches of about 9 and 2,700–4,900/s, 1 about 3,000/s.
const SIGNUP_BATCHES: usize = 2;

/// The PostgreSQL store. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Connections for batched statements (see [`PgStore::batch_client`]).
    batch_pool: Pool,
    /// Volunteers by number: the hottest read (profiles, verification).
    pub(crate) by_number: Coalescer<i64, VolunteerRecord>,
    /// Certificates by number: public verification, which anyone can call at volume.
    pub(crate) certificates: Coalescer<String, zhiyuan_store::CertificateRecord>,
    /// What every check-in and check-out reads before it writes: the shift with its
    /// project, the team, the attendance and sign-up of (shift, volunteer), the minutes a
    /// volunteer already has on a day.
    pub(crate) shifts: Coalescer<i64, (ShiftRecord, ProjectRecord)>,
    pub(crate) orgs: Coalescer<i64, OrgRecord>,
    pub(crate) attendances: Coalescer<(i64, i64), AttendanceRecord>,
    pub(crate) signups_of: Coalescer<(i64, i64), SignupRecord>,
    pub(crate) day_minutes: Coalescer<(VolunteerId, Date), i64>,
    /// Sign-ups waiting for their group commit (see [`crate::signups`]).
    pub(crate) signups: Arc<Gather<Queued<crate::signups::SignupRequest, SignupMade>>>,
    /// Check-ins waiting for their group commit (see [`crate::attendance`]).
    pub(crate) check_ins:
        Arc<Gather<Queued<crate::attendance::CheckInRequest, (AttendanceRecord, bool)>>>,
    /// Check-outs waiting for their group commit (see [`crate::attendance`]).
    pub(crate) check_outs:
        Arc<Gather<Queued<crate::attendance::CheckOutRequest, AttendanceRecord>>>,
    /// Orders by id: what every move reads first.
    pub(crate) orders: Coalescer<i64, zhiyuan_store::OrderRecord>,
    /// Order moves waiting for their group commit (see [`crate::orders`]).
    pub(crate) moves: Arc<Gather<Queued<crate::orders::MoveRequest, zhiyuan_store::OrderRecord>>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("status", &self.pool.status())
            .finish()
    }
}

impl PgStore {
    /// Connects and migrates.
    pub async fn open(url: &str, options: &PgOptions) -> Result<Self> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?;
        let size = options.pool_size.max(1);
        let pool = connect(config.clone(), size)?;
        // Batched statements take their keys and rows as arrays, and PostgreSQL would plan
        // them again at every call (an array's plan estimated for its own length always
        // looks cheaper than the generic one): on two cores that planning cost more than
        // running them. Their plans never depend on the values, so they run on
        // connections that keep one plan per statement.
        let mut batch = config;
        let generic = "-c plan_cache_mode=force_generic_plan";
        let startup = match batch.get_options() {
            Some(given) => format!("{given} {generic}"),
            None => generic.to_owned(),
        };
        batch.options(&startup);
        let batch_pool = connect(batch, size)?;
        let store = Self {
            pool,
            batch_pool,
            by_number: Coalescer::new(LOOKUP_BATCHES),
            certificates: Coalescer::new(LOOKUP_BATCHES),
            shifts: Coalescer::new(LOOKUP_BATCHES),
            orgs: Coalescer::new(LOOKUP_BATCHES),
            attendances: Coalescer::new(LOOKUP_BATCHES),
            signups_of: Coalescer::new(LOOKUP_BATCHES),
            day_minutes: Coalescer::new(LOOKUP_BATCHES),
            signups: Arc::new(Gather::new(SIGNUP_BATCHES)),
            check_ins: Arc::new(Gather::new(SIGNUP_BATCHES)),
            check_outs: Arc::new(Gather::new(SIGNUP_BATCHES)),
            orders: Coalescer::new(LOOKUP_BATCHES),
            moves: Arc::new(Gather::new(SIGNUP_BATCHES)),
        };
        store.migrate(options.migration_lock).await?;
        store.warn_without_autovacuum().await?;
        Ok(store)
    }

    /// Says so in the log when the server does not analyze tables as they grow. Plans are
    /// kept per connection until statistics change, and plans made while a table was
    /// small scan it whole: with autovacuum off, 100,000 sign-ups into a table analyzed
    /// empty took 868 s, against 118 s analyzed on the way (docs/PERFORMANCE.md,
    /// "Twenty-second round").
    async fn warn_without_autovacuum(&self) -> Result<()> {
        if !autovacuum_on(&**self.client().await?)
            .await
            .map_err(pg_err)?
        {
            tracing::warn!(
                "PostgreSQL runs with autovacuum off: run ANALYZE after large changes \
                 (or turn autovacuum on), or plans made on small tables will scan them whole"
            );
        }
        Ok(())
    }

    pub(crate) async fn client(&self) -> Result<Object> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// A connection whose statements are each planned once: for statements that take
    /// their keys as arrays (coalesced lookups, group commits, the reads of matching and
    /// of a site's menu), which reach their rows by key whatever the values.
    pub(crate) async fn batch_client(&self) -> Result<Object> {
        self.batch_pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// The rows `sql` selects for pairs of keys, on a batch connection: its condition
    /// names the pairs as [`KEY_PAIRS`].
    pub(crate) async fn query_pairs(&self, sql: &str, keys: Vec<(i64, i64)>) -> Result<Vec<Row>> {
        let (first, second): (Vec<i64>, Vec<i64>) = keys.into_iter().unzip();
        let client = self.batch_client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(pg_err)?;
        client
            .query(&stmt, &[&first, &second])
            .await
            .map_err(pg_err)
    }

    async fn migrate(&self, lock: bool) -> Result<usize> {
        let mut client = self.client().await?;
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS zhiyuan_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )
            .await
            .or_else(|e| {
                // Two servers racing to create the table: the loser sees a unique
                // violation on the catalog, and the table exists either way.
                if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                    Ok(())
                } else {
                    Err(pg_err(e))
                }
            })?;
        let mut applied = 0;
        let mut latest = None;
        for (version, name, sql) in MIGRATIONS {
            let tx = client.transaction().await.map_err(pg_err)?;
            if lock {
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                    .await
                    .map_err(pg_err)?;
            }
            let done = tx
                .query_opt(
                    "SELECT 1 FROM zhiyuan_migrations WHERE version = $1",
                    &[version],
                )
                .await
                .map_err(pg_err)?
                .is_some();
            if done {
                continue;
            }
            tx.batch_execute(sql)
                .await
                .map_err(|e| StoreError::corrupt(format!("migration {name} failed: {e}")))?;
            tx.execute(
                "INSERT INTO zhiyuan_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )
            .await
            .map_err(pg_err)?;
            tx.commit().await.map_err(pg_err)?;
            tracing::debug!(migration = name, "applied migration");
            applied += 1;
            latest = Some(name);
        }
        if let Some(latest) = latest {
            tracing::info!(applied, latest, "migrated the database");
        }
        Ok(applied)
    }
}

/// Whether the server `client` is connected to runs autovacuum.
pub(crate) async fn autovacuum_on(
    client: &tokio_postgres::Client,
) -> std::result::Result<bool, tokio_postgres::Error> {
    let rows = client.simple_query("SHOW autovacuum").await?;
    Ok(rows.iter().any(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0) == Some("on"),
        _ => false,
    }))
}

/// A pool of up to `size` connections made with `config`.
fn connect(config: tokio_postgres::Config, size: usize) -> Result<Pool> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}
