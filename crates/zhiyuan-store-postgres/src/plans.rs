//! The query plans that matter, checked on a migrated database: a list filtered by a
//! volunteer, a team, a site or an order's holder must reach its rows through that key's
//! index in the generic plan too (the one PostgreSQL keeps for a prepared statement once
//! custom plans look no cheaper), or it costs a walk of every record in the province; and
//! the sequencer's frequent question must find pending ledger entries through their
//! partial index even on statistics that call most entries pending; housekeeping's purge
//! of failed sign-ins reads a range of their start times; a freed place finds the first
//! on the waitlist without sorting the waitlist. A server that lets statistics go stale
//! (autovacuum off) is named in the log when the store opens.
//! Runs in the PostgreSQL half of the suite (`ZHIYUAN_TEST_BACKEND=postgres`).

use tokio_postgres::{NoTls, SimpleQueryMessage};

use zhiyuan_domain::ids::SiteId;
use zhiyuan_domain::order::Holder;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::OrderQuery;

use crate::{PgOptions, PgStore};

/// The number of the highest parameter `$n` in `sql`.
fn parameters(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|after| {
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

/// The generic plan of `sql` (all parameters NULL), one line per plan node.
async fn generic_plan(store: &PgStore, name: &str, sql: &str) -> Result<String, String> {
    // A batch connection keeps one plan per statement (`force_generic_plan`).
    let client = store.batch_client().await.map_err(|e| e.to_string())?;
    let failed = |e: tokio_postgres::Error| format!("{name}: {e:?}");
    client
        .batch_execute(&format!("PREPARE {name} AS {sql}"))
        .await
        .map_err(failed)?;
    let arguments = match parameters(sql) {
        0 => String::new(),
        n => format!("({})", vec!["NULL"; n].join(", ")),
    };
    let explained = client
        .simple_query(&format!("EXPLAIN EXECUTE {name}{arguments}"))
        .await
        .map_err(failed)?;
    client
        .batch_execute(&format!("DEALLOCATE {name}"))
        .await
        .map_err(failed)?;
    Ok(explained
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The `Index Cond` lines of a plan.
fn index_conditions(plan: &str) -> Vec<&str> {
    plan.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Index Cond:"))
        .collect()
}

/// Rows and statistics for a test, written on a batch connection; the result is checked
/// after the scratch database is dropped.
async fn load(store: &PgStore, sql: &str) -> Result<(), tokio_postgres::Error> {
    let client = store.batch_client().await.expect("a connection");
    client.batch_execute(sql).await
}

/// A freshly migrated database of its own, the connection that will drop it, and its
/// name; `None` outside the PostgreSQL half of the suite (`ZHIYUAN_TEST_BACKEND`).
async fn scratch() -> Option<(tokio_postgres::Client, String, PgStore)> {
    if std::env::var("ZHIYUAN_TEST_BACKEND").as_deref() != Ok("postgres") {
        return None; // the PostgreSQL half of the suite runs these
    }
    let admin = std::env::var("ZHIYUAN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let (client, conn) = tokio_postgres::connect(&admin, NoTls)
        .await
        .expect("PostgreSQL for tests (ZHIYUAN_TEST_POSTGRES_URL)");
    tokio::spawn(conn);
    let name = format!(
        "zy_plans_{}_{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the database");
    let server = admin.rsplit_once('/').map_or(admin.as_str(), |(s, _)| s);
    let options = PgOptions {
        pool_size: 2,
        migration_lock: true,
    };
    let store = PgStore::open(&format!("{server}/{name}"), &options)
        .await
        .expect("open and migrate");
    Some((client, name, store))
}

/// Drops a [`scratch`] database; called before anything is asserted, so that a failure
/// leaves nothing behind.
async fn drop_scratch(client: &tokio_postgres::Client, name: &str, store: PgStore) {
    drop(store);
    client
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .expect("drop the database");
}

#[tokio::test]
async fn lists_by_a_key_search_its_index_in_the_generic_plan() {
    let Some((client, name, store)) = scratch().await else {
        return;
    };

    // Each list, and the key its generic plan must search by.
    let orders = |f: fn(&mut OrderQuery)| {
        let mut q = OrderQuery::default();
        f(&mut q);
        crate::orders::list_sql(&q)
    };
    let statements = [
        ("volunteer_id = $2", crate::records::list_sql(true, false)),
        ("org_id = $3", crate::records::list_sql(false, true)),
        ("site_id = $2", orders(|q| q.site = Some(SiteId(1)))),
        (
            "holder_kind = $3",
            orders(|q| q.holder = Some(Holder::Site(SiteId(1)))),
        ),
        (
            "region_code >= $6",
            orders(|q| q.within = RegionCode::parse("440106").ok()),
        ),
        ("site_id = $9", orders(|q| q.at_site = Some(SiteId(1)))),
        (
            "holder_kind = 'site'",
            orders(|q| q.at_site = Some(SiteId(1))),
        ),
        ("org_id = $5", crate::projects::list_sql(true, false)),
        ("subject_type = $4", crate::audit::list_sql(false, true)),
    ];
    // What the filters used to be: one statement for every combination, whose generic
    // plan walks the table.
    let catch_all = "SELECT id FROM service_records
        WHERE id < $1 AND ($2::BIGINT IS NULL OR volunteer_id = $2)
        ORDER BY id DESC LIMIT $3";
    let mut plans = Vec::new();
    for (i, (_, sql)) in statements.iter().enumerate() {
        plans.push(generic_plan(&store, &format!("list_{i}"), sql).await);
    }
    plans.push(generic_plan(&store, "catch_all", catch_all).await);
    // Art. 11 reports: the sign-ups still unrecorded, by a team's shifts or oldest first.
    let overdue = [
        (
            "signups_unrecorded_shift",
            crate::records::unrecorded_sql(true, false, false),
        ),
        (
            "signups_unrecorded",
            crate::records::unrecorded_sql(false, true, false),
        ),
        // Housekeeping's, in the whole province: those whose shift was not flagged while
        // they were owed.
        (
            "signups_unflagged",
            crate::records::unrecorded_sql(false, false, true),
        ),
    ];
    let mut overdue_plans = Vec::new();
    for (i, (_, sql)) in overdue.iter().enumerate() {
        overdue_plans.push(generic_plan(&store, &format!("overdue_{i}"), sql).await);
    }
    let overlaps = generic_plan(&store, "overlap_check", &crate::signups::overlaps_sql()).await;
    let purge = generic_plan(&store, "purge", crate::accounts::PURGE_LOGIN_ATTEMPTS).await;
    let waitlist = generic_plan(&store, "waitlist", crate::signups::NEXT_WAITLISTED).await;
    drop_scratch(&client, &name, store).await;

    let plans: Vec<String> = plans.into_iter().collect::<Result<_, _>>().expect("plans");
    let searches = |plan: &str, key: &str| {
        index_conditions(plan)
            .iter()
            .any(|c| c.contains(&format!("({key}")))
    };
    for ((key, _), plan) in statements.iter().zip(&plans) {
        assert!(searches(plan, key), "{key}: {plan}");
    }
    let old = &plans[statements.len()];
    assert!(!searches(old, "volunteer_id = $2"), "{old}");
    // A new sign-up's overlaps: the volunteer's sign-ups that do not overlap are passed
    // over in the index, not read from the table and then filtered.
    let overlaps = overlaps.expect("plan");
    assert!(
        index_conditions(&overlaps).contains(
            &"Index Cond: ((volunteer_id = d.volunteer_id) AND (ends_at > d.starts_at) \
              AND (starts_at < d.ends_at))"
        ),
        "{overlaps}"
    );
    // Housekeeping's purge of failed sign-ins, by the window's start.
    let purge = purge.expect("plan");
    assert!(
        index_conditions(&purge).contains(&"Index Cond: (first_at <= $1)"),
        "{purge}"
    );
    // The first on a shift's waitlist, in the order served, without a sort.
    let waitlist = waitlist.expect("plan");
    assert!(
        waitlist.contains(" using signups_waitlist on signups"),
        "{waitlist}"
    );
    assert!(!waitlist.contains("Sort"), "{waitlist}");
    for ((index, _), plan) in overdue.iter().zip(overdue_plans) {
        let plan = plan.expect("plan");
        assert!(
            plan.contains(&format!(" using {index} on signups")),
            "{index}: {plan}"
        );
    }
}

#[tokio::test]
async fn the_sequencer_finds_pending_entries_through_their_index_whatever_the_statistics() {
    let Some((client, name, store)) = scratch().await else {
        return;
    };
    // Statistics taken while every entry waited, as a seed or a large upload leaves them
    // until the next ANALYZE (in the field the entries are integrated meanwhile, and the
    // statistics go on saying they wait).
    let setup = load(
        &store,
        "INSERT INTO ledger_entries (kind, subject_id, salt, commitment, created_at)
             SELECT 1, g, '\\x00', '\\x00', now() FROM generate_series(1, 20000) g;
             ANALYZE ledger_entries",
    )
    .await;
    let has_work = generic_plan(&store, "has_work", crate::ledger::HAS_WORK).await;
    let as_exists = generic_plan(
        &store,
        "as_exists",
        "SELECT EXISTS (SELECT 1 FROM ledger_entries WHERE seq IS NULL)",
    )
    .await;
    drop_scratch(&client, &name, store).await;

    setup.expect("entries and statistics");
    let plan = has_work.expect("plan");
    assert!(
        plan.contains("using ledger_entries_pending on ledger_entries")
            && !plan.contains("Seq Scan on ledger_entries"),
        "{plan}"
    );
    // What it replaced: the same question as EXISTS walks the table on these statistics.
    let old = as_exists.expect("plan");
    assert!(old.contains("Seq Scan on ledger_entries"), "{old}");
}

/// Housekeeping asks for the overdue shifts not yet flagged in the whole province. On a
/// backlog of sign-ups flagged long ago, a region range of unknown bounds made the generic
/// plan count on few projects and read every shift of every team (0.7 s on issue 3's
/// twenty-fourth-round dataset); without a region the range is left out of the plan.
#[tokio::test]
async fn housekeeping_finds_the_shifts_to_flag_through_the_unflagged_sign_ups_on_a_backlog() {
    let Some((client, name, store)) = scratch().await else {
        return;
    };
    // Two years of shifts of 1,000 projects, one in ten sign-ups owed a record and flagged.
    let setup = load(
        &store,
        "SET session_replication_role = replica;
             INSERT INTO projects (id, org_id, name, category, description, region_code,
                 address, starts_on, ends_on, conditions, risky, risk_disclosure, signup_mode,
                 review_required, responsible_person, status, created_at, updated_at)
             SELECT g, g % 100 + 1, 'p', 'environment', '', 440100000000 + g * 1000000, '',
                 '2024-11-01', '2026-12-31', '{}', false, '', 'automatic', false, '', 'published',
                 now(), now()
             FROM generate_series(1, 1000) g;
             INSERT INTO shifts (id, project_id, position, starts_at, ends_at, capacity,
                 accepted, overdue_flagged)
             SELECT g, g % 1000 + 1, 'x', now() - g * interval '1 hour' - interval '2 hours',
                 now() - g * interval '1 hour', 10, 10, g > 240
             FROM generate_series(1, 20000) g;
             INSERT INTO signups (shift_id, volunteer_id, status, created_at, starts_at,
                 ends_at, recorded, overdue_flagged)
             SELECT sh.id, k, 'accepted', sh.starts_at, sh.starts_at, sh.ends_at, k > 1,
                 k = 1 AND sh.overdue_flagged
             FROM shifts sh, generate_series(1, 10) k;
             SET session_replication_role = DEFAULT;
             ANALYZE projects, shifts, signups",
    )
    .await;
    let province = generic_plan(
        &store,
        "to_flag",
        &crate::records::unrecorded_sql(false, false, true),
    )
    .await;
    let ranged = generic_plan(
        &store,
        "to_flag_ranged",
        &crate::records::unrecorded_sql(false, true, true),
    )
    .await;
    drop_scratch(&client, &name, store).await;

    setup.expect("a backlog and its statistics");
    let plan = province.expect("plan");
    assert!(
        plan.contains(" using signups_unflagged on signups"),
        "{plan}"
    );
    // What it replaced: the same statement with a range of unknown bounds.
    let old = ranged.expect("plan");
    assert!(
        !old.contains(" using signups_unflagged on signups"),
        "{old}"
    );
}

#[tokio::test]
async fn ledger_entries_are_vacuumed_after_a_fixed_number_of_changes_indexes_included() {
    let Some((client, name, store)) = scratch().await else {
        return;
    };
    let read = async {
        let c = store.batch_client().await?;
        let stmt = c
            .prepare("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = $1")
            .await?;
        let row = c.query_one(&stmt, &[&"ledger_entries"]).await?;
        Ok::<_, Box<dyn std::error::Error>>(row.get::<_, Option<String>>(0))
    };
    let options = read.await.map_err(|e| e.to_string());
    drop_scratch(&client, &name, store).await;

    // Integration leaves every entry's pending version in the partial index until a
    // vacuum cleans it (migration 0024): by count, not by a share of a growing table.
    let options = options.expect("reloptions").unwrap_or_default();
    for option in [
        "autovacuum_vacuum_scale_factor=0",
        "autovacuum_vacuum_threshold=200000",
        "autovacuum_analyze_scale_factor=0",
        "vacuum_index_cleanup=on",
    ] {
        assert!(
            options.split(',').any(|o| o == option),
            "{option}: {options}"
        );
    }
}

/// Where a test's log subscriber writes its lines.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_server_that_does_not_analyze_tables_as_they_grow_is_named_in_the_log() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(move || writer.clone())
        .finish();
    // The test runs on one thread, where the store is opened.
    let guard = tracing::subscriber::set_default(subscriber);
    let Some((client, name, store)) = scratch().await else {
        return;
    };
    drop(guard);
    let on = crate::conn::autovacuum_on(&client).await;
    drop_scratch(&client, &name, store).await;
    let on = on.expect("read autovacuum");
    let text = String::from_utf8(log.0.lock().expect("log buffer").clone()).expect("UTF-8 log");
    // CI's PostgreSQL runs with autovacuum off, production's with it on: either way the
    // log says so exactly when it is off.
    assert_eq!(
        text.contains("PostgreSQL runs with autovacuum off"),
        !on,
        "autovacuum on: {on}; log: {text}"
    );
}
