//! The query plans that matter, checked on a migrated database: a list filtered by a
//! volunteer, a team, a site or an order's holder must reach its rows through that key's
//! index in the generic plan too (the one PostgreSQL keeps for a prepared statement once
//! custom plans look no cheaper), or it costs a walk of every record in the province.
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
    let nulls = vec!["NULL"; parameters(sql)].join(", ");
    let explained = client
        .simple_query(&format!("EXPLAIN EXECUTE {name}({nulls})"))
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

#[tokio::test]
async fn lists_by_a_key_search_its_index_in_the_generic_plan() {
    if std::env::var("ZHIYUAN_TEST_BACKEND").as_deref() != Ok("postgres") {
        return; // the PostgreSQL half of the suite runs it
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
            crate::records::unrecorded_sql(true, false),
        ),
        (
            "signups_unrecorded",
            crate::records::unrecorded_sql(false, true),
        ),
    ];
    let mut overdue_plans = Vec::new();
    for (i, (_, sql)) in overdue.iter().enumerate() {
        overdue_plans.push(generic_plan(&store, &format!("overdue_{i}"), sql).await);
    }
    drop(store);
    // Dropped before anything is asserted, so that a failure leaves nothing behind.
    client
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .expect("drop the database");

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
    for ((index, _), plan) in overdue.iter().zip(overdue_plans) {
        let plan = plan.expect("plan");
        assert!(
            plan.contains(&format!(" using {index} on signups")),
            "{index}: {plan}"
        );
    }
}
