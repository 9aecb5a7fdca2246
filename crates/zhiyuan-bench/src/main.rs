//! `zhiyuan-bench`: prepares a seeded database for the load runs of docs/PERFORMANCE.md
//! and drives the runs that need ordered requests.
//!
//! - `prepare`: bench accounts with sessions (tokens written to files), a published
//!   project with many shifts for sign-ups, shifts open now with accepted sign-ups for
//!   check-in/check-out, and issued certificates.
//! - `pairs`: check-in then check-out for distinct volunteers, over HTTP, concurrently.
//! - `csv`: a batch-entry file of distinct rows.
//! - `rate`: reads of random volunteers' totals or star at a fixed request rate, for
//!   latency that is not the scheduler's queueing at saturation.
//! - `calls-prepare`: verified doctor qualifications for the first volunteers, and a
//!   province administrator's token, for timing a mobilisation call.
//! - `orders-prepare` and `orders`: verified orders at a village station, then order
//!   transitions (offer, recall, offer…) over HTTP, concurrently, each worker on orders of
//!   its own.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use time::OffsetDateTime;
use zhiyuan_domain::access::{GrantedRole, Principal};
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_domain::project::{Conditions, ProjectStatus, SignupMode};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_service::{Actor, CertificateRequest, Ctx, NewStaff, hash_token};
use zhiyuan_store::{NewAccount, NewProject, NewSession, NewShift, OrgQuery, PageRequest};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Prepares bench data in the database of the current zhiyuan configuration.
    Prepare(PrepareArgs),
    /// Checks volunteers in and out over HTTP: `concurrency` workers, each taking the
    /// next unused (shift, volunteer) pair, for `seconds`.
    Pairs {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Pairs passed over first: those an earlier run used.
        #[arg(long, default_value_t = 0)]
        start: usize,
    },
    /// Fires `n` sign-ups at once, over HTTP, at the prepared 10-place shift and counts
    /// who got a place.
    Contention {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        #[arg(long, default_value_t = 500)]
        n: usize,
    },
    /// Writes a batch-entry CSV of `rows` distinct rows for the bench volunteers.
    Csv {
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
    },
    /// Gives the first `qualified` volunteers (by id) a verified doctor qualification and
    /// writes a province administrator's token (`calls-admin.txt`).
    CallsPrepare {
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value = "bench-data")]
        out: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        qualified: usize,
    },
    /// Creates a county center, town institute and village station (when missing), a menu
    /// item, and verified orders at the station; writes their ids and a token.
    OrdersPrepare(OrdersPrepareArgs),
    /// On a seeded province: a first-aid service (skill 急救) on every county's menu and
    /// `orders` verified needs for it at random village stations, for `rate --what
    /// candidates` (writes `candidate-orders.txt` and `orders-admin.txt`).
    MatchPrepare(OrdersPrepareArgs),
    /// Moves the prepared orders over HTTP: each worker offers and recalls its own orders
    /// in turn, for `seconds`; reports transitions per second and their latency.
    Orders {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Reads random bench volunteers' `totals` or `star`, or the `candidates` of random
    /// prepared orders, at a fixed rate (open loop) and reports latency percentiles.
    Rate {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        /// `totals`, `star` or `candidates`.
        #[arg(long, default_value = "totals")]
        what: String,
        /// Requests per second.
        #[arg(long, default_value_t = 5_000)]
        rate: u32,
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
}

#[derive(Debug, clap::Args)]
struct OrdersPrepareArgs {
    #[arg(long)]
    database_url: Option<String>,
    #[arg(long, default_value = "bench-data")]
    out: PathBuf,
    /// Verified orders to create.
    #[arg(long, default_value_t = 10_000)]
    orders: usize,
}

#[derive(Debug, clap::Args)]
struct PrepareArgs {
    #[arg(long)]
    database_url: Option<String>,
    /// Where the files for the load runs go.
    #[arg(long, default_value = "bench-data")]
    out: PathBuf,
    /// Volunteers given accounts and sessions.
    #[arg(long, default_value_t = 20_000)]
    volunteers: usize,
    /// Volunteers passed over first (by id), so that a later run can start with
    /// volunteers an earlier one left untouched.
    #[arg(long, default_value_t = 0)]
    skip: usize,
    /// Shifts to sign up for.
    #[arg(long, default_value_t = 1_000)]
    shifts: usize,
    /// Volunteers signed up, per shift open for check-in (there are 4 such shifts).
    #[arg(long, default_value_t = 25_000)]
    attendees: usize,
    /// Certificates issued.
    #[arg(long, default_value_t = 2_000)]
    certificates: usize,
}

/// Adds a shift of `hours` hours to a project.
async fn add_shift(
    app: &zhiyuan_service::Zhiyuan,
    ctx: &Ctx,
    project: zhiyuan_store::ProjectId,
    position: String,
    starts_at: OffsetDateTime,
    hours: i64,
    capacity: i64,
) -> anyhow::Result<zhiyuan_store::ShiftId> {
    let shift = NewShift {
        project,
        position,
        starts_at,
        ends_at: starts_at + time::Duration::hours(hours),
        capacity,
    };
    let s = app
        .create_shift(ctx, shift)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(s.id)
}

fn write_lines(path: &Path, lines: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for line in lines {
        writeln!(f, "{line}")?;
    }
    Ok(())
}

fn as_volunteer(id: VolunteerId) -> Ctx {
    Ctx::new(
        Actor::User(Arc::new(Principal {
            account: AccountId(0),
            volunteer: Some(id),
            grants: vec![],
        })),
        "bench",
    )
}

async fn prepare(args: PrepareArgs) -> anyhow::Result<()> {
    let PrepareArgs {
        database_url,
        out,
        volunteers,
        skip,
        shifts,
        attendees,
        certificates,
    } = args;
    let out = out.as_path();
    let mut config = zhiyuan::Config::load(None)?;
    if let Some(url) = database_url {
        config.database.url = url;
    }
    config.security.argon2_memory_kib = 1024;
    let app = zhiyuan::build(&config).await?.zhiyuan;
    let store = app.store().clone();
    std::fs::create_dir_all(out)?;
    let system = Ctx::system("bench");
    let now = OffsetDateTime::now_utc();
    let expires = now + time::Duration::days(7);

    // An administrator of the province, who runs every team's projects.
    province_admin(&app, "admin", &out.join("admin.txt")).await?;

    // Volunteers with accounts and live sessions.
    let (first, last) = store
        .volunteer_id_bounds()
        .await?
        .context("seed the database first")?;
    let ids: Vec<i64> = (first..=last)
        .skip(skip)
        .take(volunteers.max(attendees))
        .collect();
    let mut lines = Vec::with_capacity(ids.len());
    let started = Instant::now();
    for id in &ids {
        let v = store
            .get_volunteer(VolunteerId(*id))
            .await?
            .context("volunteer")?;
        let token = format!("zy1_bench_{id}_{}", now.unix_timestamp());
        let audit = system.audit("account.create", "account", "", None);
        let account = store
            .insert_account(
                &NewAccount {
                    login: v.number.to_string(),
                    display_name: v.profile.name.clone(),
                    password_hash: "$argon2id$bench-no-login".into(),
                    volunteer: Some(v.id),
                    grants: vec![],
                },
                &audit,
            )
            .await;
        let account = match account {
            Ok(a) => a,
            Err(zhiyuan_store::StoreError::Conflict { .. }) => store
                .find_account(&v.number.to_string())
                .await?
                .context("account")?,
            Err(e) => return Err(e.into()),
        };
        store
            .insert_session(&NewSession {
                token_hash: hash_token(&token),
                account: account.id,
                created_at: now,
                expires_at: expires,
            })
            .await?;
        lines.push(format!("{} {token}", v.number));
    }
    eprintln!("{} sessions in {:.1?}", lines.len(), started.elapsed());
    write_lines(
        &out.join("tokens.txt"),
        lines.iter().take(volunteers).cloned(),
    )?;
    write_lines(
        &out.join("numbers.txt"),
        lines
            .iter()
            .map(|l| l.split(' ').next().unwrap_or_default().to_owned()),
    )?;

    // A project to sign up for: many shifts over the next month, more places than
    // takers. Consecutive shifts fall on different days, so that a volunteer signing up
    // for several (as the load run does) gets the occasional overlap, not a pile of them.
    let team = store
        .list_orgs(&OrgQuery::default(), &PageRequest::first(1))
        .await?
        .items
        .into_iter()
        .next()
        .context("a team")?;
    let today = zhiyuan_domain::clock::china_date(now);
    let project = |name: &str| NewProject {
        org: team.id,
        name: name.into(),
        category: ServiceCategory::Events,
        description: "压测".into(),
        region: team.org.region,
        site: None,
        address: "压测地点".into(),
        location: None,
        geofence_m: None,
        starts_on: today - time::Duration::days(1),
        ends_on: today + time::Duration::days(30),
        conditions: Conditions {
            minors_allowed: true,
            ..Conditions::default()
        },
        risky: false,
        risk_disclosure: String::new(),
        insurance: None,
        signup_mode: SignupMode::Automatic,
        review_required: false,
        responsible_person: "压测".into(),
        status: ProjectStatus::Draft,
    };
    let p = app
        .create_project(&system, project("报名压测"))
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    app.change_project_status(&system, p.id, ProjectStatus::Published, None)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut signup_shifts = Vec::with_capacity(shifts);
    for i in 0..shifts {
        let (day, slot) = ((i % 28) as i64, (i / 28) as i64);
        let start = now + time::Duration::days(1 + day) + time::Duration::minutes(slot * 20);
        let s = add_shift(&app, &system, p.id, format!("岗位{i}"), start, 2, 100_000).await?;
        signup_shifts.push(s.0.to_string());
    }
    write_lines(&out.join("shifts.txt"), signup_shifts)?;
    let start = now + time::Duration::days(2);
    let contended = add_shift(&app, &system, p.id, "10个名额".into(), start, 2, 10).await?;
    write_lines(&out.join("contention.txt"), [contended.0.to_string()])?;

    // Shifts open for check-in now, each with `attendees` accepted sign-ups.
    let p = app
        .create_project(&system, project("签到压测"))
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    app.change_project_status(&system, p.id, ProjectStatus::Published, None)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut pairs = Vec::new();
    let started = Instant::now();
    for i in 0..4 {
        let start = now + time::Duration::minutes(30 + i);
        let s = add_shift(&app, &system, p.id, format!("签到{i}"), start, 8, 100_000).await?;
        for line in lines.iter().take(attendees) {
            let number = line.split(' ').next().unwrap_or_default();
            let v = store
                .get_volunteer_by_number(
                    zhiyuan_domain::volunteer_number::VolunteerNumber::parse(number)
                        .map_err(|e| anyhow::anyhow!(e.reason))?,
                )
                .await?
                .context("volunteer")?;
            let audit = system.audit("signup.create", "signup", "", None);
            store
                .sign_up(s, v.id, now, Box::new(|_| Ok(())), &audit)
                .await?;
            pairs.push(format!("{} {number}", s.0));
            // Statistics taken while `signups` was empty (the seed's) keep PostgreSQL's
            // plans for a sign-up scanning the whole table, once per sign-up, where
            // autovacuum does not analyze it as it grows (as on the CI machine): 100,000
            // sign-ups took 868 s. Plans made on 1,000 rows still chose the scan (471 s):
            // by 10,000 the index wins, and they took 118 s. (A no-op on SQLite.)
            if pairs.len() == 10_000 {
                store.refresh_statistics().await?;
            }
        }
    }
    eprintln!(
        "{} attendance sign-ups in {:.1?}",
        pairs.len(),
        started.elapsed()
    );
    write_lines(&out.join("pairs.txt"), pairs)?;

    // Certificates to verify and download.
    let mut numbers = Vec::with_capacity(certificates);
    for id in ids.iter().take(certificates) {
        let c = app
            .issue_certificate(
                &as_volunteer(VolunteerId(*id)),
                CertificateRequest::default(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        numbers.push(c.certificate.number);
    }
    write_lines(&out.join("certificates.txt"), numbers)?;
    eprintln!("prepared in {}", out.display());
    Ok(())
}

async fn pairs(
    url: &str,
    dir: &Path,
    concurrency: usize,
    seconds: u64,
    start: usize,
) -> anyhow::Result<()> {
    let admin = std::fs::read_to_string(dir.join("admin.txt"))?
        .trim()
        .to_owned();
    let work: Arc<Vec<(String, String)>> = Arc::new(
        std::fs::read_to_string(dir.join("pairs.txt"))?
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(start));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers = (0..concurrency).map(|_| {
        let (client, work, next, admin, url) = (
            client.clone(),
            work.clone(),
            next.clone(),
            admin.clone(),
            url.to_owned(),
        );
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((shift, number)) = work.get(i) else {
                    break;
                };
                let t = Instant::now();
                let mut ok = true;
                for action in ["check-in", "check-out"] {
                    let r = client
                        .post(format!("{url}/api/v1/shifts/{shift}/{action}"))
                        .bearer_auth(&admin)
                        .json(&serde_json::json!({ "volunteer": number }))
                        .send()
                        .await;
                    ok &= match r {
                        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                        _ => false,
                    };
                }
                if ok {
                    latencies.push(t.elapsed());
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        })
    });
    report("check-in/check-out pairs", started, workers).await
}

/// Waits for closed-loop workers (each returning its latencies and failures) and prints
/// the throughput and latency of `what`.
async fn report(
    what: &str,
    started: Instant,
    workers: impl Iterator<Item = tokio::task::JoinHandle<(Vec<Duration>, usize)>>,
) -> anyhow::Result<()> {
    let ticks = cpu_ticks();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for w in futures::future::join_all(workers).await {
        let (l, f) = w?;
        latencies.extend(l);
        failures += f;
    }
    let secs = started.elapsed().as_secs_f64();
    latencies.sort();
    println!(
        "{} {what} in {secs:.1} s: {:.0}/s; latency p50 {:?}, p99 {:?}; {failures} failed; {}",
        latencies.len(),
        latencies.len() as f64 / secs,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        stolen_since(ticks),
    );
    Ok(())
}

/// The machine's CPU time so far as (stolen by the hypervisor, total), in ticks, from
/// the first line of `/proc/stat`; zeros where there is none.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    (ticks.get(7).copied().unwrap_or(0), ticks.iter().sum())
}

/// The share of CPU time the hypervisor took since `before` (`cpu_ticks`): on a shared
/// virtual machine a run with much stolen time measures the neighbours as well.
fn stolen_since(before: (u64, u64)) -> String {
    let (steal, total) = cpu_ticks();
    let total = total.saturating_sub(before.1).max(1);
    format!(
        "{:.0}% of CPU time stolen",
        100.0 * steal.saturating_sub(before.0) as f64 / total as f64
    )
}

/// The `p` quantile of sorted latencies.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

/// Reads `/api/v1/volunteers/{number}/{what}` for random prepared volunteers, `rate`
/// requests per second, as an administrator. Requests leave on schedule whether or not
/// earlier ones have been answered (open loop), and each latency counts from when its
/// request was due, so a stall shows in every request it delayed.
async fn rate(url: &str, dir: &Path, what: &str, rate: u32, seconds: u64) -> anyhow::Result<()> {
    use rand::Rng;
    let (token_file, list_file) = match what {
        "candidates" => ("orders-admin.txt", "candidate-orders.txt"),
        _ => ("admin.txt", "numbers.txt"),
    };
    let admin = std::fs::read_to_string(dir.join(token_file))?
        .trim()
        .to_owned();
    let targets: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(dir.join(list_file))?
            .lines()
            .map(|key| match what {
                "candidates" => format!("{url}/api/v1/orders/{key}/candidates"),
                _ => format!("{url}/api/v1/volunteers/{key}/{what}"),
            })
            .collect(),
    );
    anyhow::ensure!(!targets.is_empty(), "run prepare (or match-prepare) first");
    let client = reqwest::Client::builder().build()?;
    let ticks = cpu_ticks();
    let total = u64::from(rate) * seconds;
    // Requests are sent on schedule by a thread of their own, which sleeps to each one's
    // time (about a tenth of a millisecond late, where tokio's timer wakes at the next
    // millisecond, a delay it would charge to the server). Each latency runs from the
    // request's scheduled time, so a request sent late counts its lateness, and none
    // waits for another's response (open loop). The lateness is reported too.
    let runtime = tokio::runtime::Handle::current();
    let started = Instant::now();
    let pacing = tokio::task::spawn_blocking(move || {
        let mut requests = Vec::with_capacity(total as usize);
        let mut late = Vec::with_capacity(total as usize);
        for n in 0..total {
            let due = started + Duration::from_micros(n * 1_000_000 / u64::from(rate));
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            late.push(due.elapsed());
            let target = targets[rand::thread_rng().gen_range(0..targets.len())].clone();
            let (client, admin) = (client.clone(), admin.clone());
            requests.push(runtime.spawn(async move {
                // The whole body is read, as a client would: the latency covers the full
                // response, and the connection goes back to the pool for the next request
                // (an unread body would close it, and each request would pay a connect).
                let ok = match client.get(target).bearer_auth(admin).send().await {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                };
                (ok, due.elapsed())
            }));
        }
        (requests, late)
    });
    let (requests, mut late) = pacing.await?;
    let mut latencies = Vec::with_capacity(total as usize);
    let mut failures = 0;
    for request in requests {
        let (ok, latency) = request.await?;
        if ok {
            latencies.push(latency);
        } else {
            failures += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    latencies.sort();
    late.sort();
    println!(
        "{} {what} reads at {rate}/s in {secs:.1} s: p50 {:?}, p90 {:?}, p99 {:?}, p99.9 {:?}, max {:?}; {failures} failed; sent late by p50 {:?}, p99 {:?}; {}",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        percentile(&latencies, 0.999),
        latencies.last().copied().unwrap_or_default(),
        percentile(&late, 0.5),
        percentile(&late, 0.99),
        stolen_since(ticks),
    );
    Ok(())
}

async fn contention(url: &str, dir: &Path, n: usize) -> anyhow::Result<()> {
    let shift = std::fs::read_to_string(dir.join("contention.txt"))?
        .trim()
        .to_owned();
    let tokens: Vec<String> = std::fs::read_to_string(dir.join("tokens.txt"))?
        .lines()
        .filter_map(|l| l.split(' ').nth(1).map(str::to_owned))
        .take(n)
        .collect();
    anyhow::ensure!(tokens.len() == n, "only {} tokens prepared", tokens.len());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(n)
        .build()?;
    let started = Instant::now();
    let requests = tokens.iter().map(|t| {
        client
            .post(format!("{url}/api/v1/shifts/{shift}/signups"))
            .bearer_auth(t)
            .send()
    });
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for r in futures::future::join_all(requests).await {
        let status = match r {
            Ok(r) => {
                let code = r.status();
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                body["signup"]["status"]
                    .as_str()
                    .map_or_else(|| format!("HTTP {code}"), str::to_owned)
            }
            Err(e) => format!("error {e}"),
        };
        *counts.entry(status).or_default() += 1;
    }
    println!(
        "{n} simultaneous sign-ups for 10 places in {:.1?}: {counts:?}",
        started.elapsed()
    );
    Ok(())
}

fn csv(dir: &Path, rows: usize) -> anyhow::Result<()> {
    let numbers: Vec<String> = std::fs::read_to_string(dir.join("numbers.txt"))?
        .lines()
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(!numbers.is_empty(), "run prepare first");
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("batch.csv"))?);
    writeln!(
        f,
        "volunteer_number,activity_name,service_date,place,content,hours,responsible_person"
    )?;
    let base = time::macros::date!(2026 - 11 - 20);
    for i in 0..rows {
        let number = &numbers[i % numbers.len()];
        // Distinct rows; at most a few per volunteer and day.
        let day = base - time::Duration::days((i / numbers.len()) as i64 % 300);
        writeln!(
            f,
            "{number},社区服务第{i}期,{day},社区活动中心,协助活动,2,批量录入"
        )?;
    }
    Ok(())
}

async fn calls_prepare(
    database_url: Option<String>,
    out: &Path,
    qualified: usize,
) -> anyhow::Result<()> {
    let app = open_app(database_url).await?;
    let store = app.store().clone();
    std::fs::create_dir_all(out)?;
    let system = Ctx::system("bench");
    let now = OffsetDateTime::now_utc();
    let (first, _) = store
        .volunteer_id_bounds()
        .await?
        .context("seed the database first")?;
    let started = Instant::now();
    for id in first..first + qualified as i64 {
        let audit = system.audit("qualification.add", "qualification", "", None);
        let mut q = store
            .insert_qualification(
                &zhiyuan_store::NewQualification {
                    volunteer: VolunteerId(id),
                    kind: zhiyuan_domain::talent::QualificationKind::Doctor,
                    title: "执业医师".into(),
                    certificate_number: format!("BENCH-{id}"),
                    issuer: "压测".into(),
                    valid_until: None,
                    created_at: now,
                },
                &audit,
            )
            .await?;
        q.status = zhiyuan_domain::talent::QualificationStatus::Verified;
        q.decided_at = Some(now);
        store
            .update_qualification(
                &q,
                &system.audit("qualification.decide", "qualification", q.id, None),
            )
            .await?;
    }
    println!(
        "{qualified} verified qualifications in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    province_admin(&app, "calls", &out.join("calls-admin.txt")).await
}

/// A province administrator with a live session; writes its token to `file`.
async fn province_admin(
    app: &zhiyuan_service::Zhiyuan,
    name: &str,
    file: &Path,
) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let token = format!("zy1_bench_{name}_{}", now.unix_timestamp());
    let admin = app
        .create_staff(
            &Ctx::system("bench"),
            NewStaff {
                login: format!("bench-{name}-{}", now.unix_timestamp()),
                display_name: "压测管理员".into(),
                password: "bench-password".into(),
                role: GrantedRole::JurisdictionAdmin,
                region: Some(RegionCode::parse("440000").map_err(|e| anyhow::anyhow!(e.reason))?),
                site: None,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    app.store()
        .insert_session(&NewSession {
            token_hash: hash_token(&token),
            account: admin.id,
            created_at: now,
            expires_at: now + time::Duration::days(7),
        })
        .await?;
    write_lines(file, [token])
}

/// Submits a need (with a bench contact) and verifies it at its site: an open order.
async fn submit_verified(
    app: &zhiyuan_service::Zhiyuan,
    system: &Ctx,
    need: zhiyuan_service::NeedInput,
) -> anyhow::Result<i64> {
    let need = zhiyuan_service::NeedInput {
        contact_name: "压测".into(),
        contact_phone: "13800000000".into(),
        ..need
    };
    let id = app
        .submit_need(system, need)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
        .order
        .id;
    app.act_on_order(
        system,
        id,
        zhiyuan_service::OrderCommand::Verify,
        None,
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(id)
}

/// The platform of the current zhiyuan configuration, on `database_url` if given.
async fn open_app(database_url: Option<String>) -> anyhow::Result<zhiyuan_service::Zhiyuan> {
    let mut config = zhiyuan::Config::load(None)?;
    if let Some(url) = database_url {
        config.database.url = url;
    }
    Ok(zhiyuan::build(&config).await?.zhiyuan)
}

async fn orders_prepare(args: OrdersPrepareArgs) -> anyhow::Result<()> {
    use zhiyuan_domain::region::Region;
    let app = open_app(args.database_url).await?;
    let store = app.store().clone();
    std::fs::create_dir_all(&args.out)?;
    let system = Ctx::system("bench");
    let mut station = None;
    for (code, kind) in [
        ("440106", "practice_center"),
        ("440106001", "practice_institute"),
        ("440106001001", "practice_station"),
    ] {
        let region = RegionCode::parse(code).map_err(|e| anyhow::anyhow!(e.reason))?;
        if app.get_region(region).await.is_err() {
            app.create_region(
                &system,
                Region {
                    code: region,
                    name: format!("压测区域{code}"),
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
        let existing = store.sites_in(&[region]).await?;
        let kind = zhiyuan_domain::site::SiteKind::parse(kind).context("kind")?;
        let site = match existing.into_iter().find(|s| s.site.kind == kind) {
            Some(s) => s.id,
            None => {
                app.create_site(
                    &system,
                    zhiyuan_store::NewSite {
                        region,
                        kind,
                        name: format!("压测站点{code}"),
                        address: "压测路1号".into(),
                        location: Some(zhiyuan_domain::site::GeoPoint {
                            lat: 23.12,
                            lng: 113.36,
                        }),
                        phone: None,
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?
                .id
            }
        };
        station = Some(site);
    }
    let station = station.context("station")?;
    app.put_menu_item(
        &system,
        station,
        zhiyuan_service::MenuItemInput {
            code: "bench-visit".into(),
            category: "elderly".into(),
            name: "压测探访".into(),
            description: "压测".into(),
            conditions: String::new(),
            skills: vec![],
            typical_minutes: 60,
            minors_allowed: false,
            offered: true,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    // A province administrator handles every order.
    province_admin(&app, "orders", &args.out.join("orders-admin.txt")).await?;
    let started = Instant::now();
    let mut ids = Vec::with_capacity(args.orders);
    for i in 0..args.orders {
        let id = submit_verified(
            &app,
            &system,
            zhiyuan_service::NeedInput {
                service_code: "bench-visit".into(),
                description: format!("压测需求 {i}"),
                region: Some("440106001001".into()),
                ..Default::default()
            },
        )
        .await?;
        ids.push(id.to_string());
    }
    println!(
        "{} orders submitted and verified in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    write_lines(&args.out.join("orders.txt"), ids)?;
    Ok(())
}

async fn match_prepare(args: OrdersPrepareArgs) -> anyhow::Result<()> {
    use rand::{Rng, SeedableRng};
    use zhiyuan_domain::site::SiteKind;
    let app = open_app(args.database_url).await?;
    let store = app.store().clone();
    std::fs::create_dir_all(&args.out)?;
    let system = Ctx::system("bench");
    let sites = |kind| {
        let store = store.clone();
        async move {
            let mut out = Vec::new();
            let mut page = zhiyuan_store::PageRequest::first(1000);
            loop {
                let p = store
                    .list_sites(
                        &zhiyuan_store::SiteQuery {
                            within: None,
                            kind: Some(kind),
                        },
                        &page,
                    )
                    .await?;
                out.extend(p.items.into_iter().filter(|s| s.site.location.is_some()));
                match p.next {
                    Some(c) => page.after = Some(c),
                    None => return anyhow::Ok(out),
                }
            }
        }
    };
    let centers = sites(SiteKind::PracticeCenter).await?;
    let stations = sites(SiteKind::PracticeStation).await?;
    anyhow::ensure!(!stations.is_empty(), "seed a province first");
    for center in &centers {
        app.put_menu_item(
            &system,
            center.id,
            zhiyuan_service::MenuItemInput {
                code: "bench-first-aid".into(),
                category: "health".into(),
                name: "压测急救陪护".into(),
                description: "压测".into(),
                conditions: String::new(),
                skills: vec!["急救".into()],
                typical_minutes: 60,
                minors_allowed: false,
                offered: true,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    province_admin(&app, "orders", &args.out.join("orders-admin.txt")).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let started = Instant::now();
    let mut ids = Vec::with_capacity(args.orders);
    for i in 0..args.orders {
        let station = &stations[rng.gen_range(0..stations.len())];
        let at = station.site.location.context("located")?;
        let id = submit_verified(
            &app,
            &system,
            zhiyuan_service::NeedInput {
                service_code: "bench-first-aid".into(),
                description: format!("压测需求 {i}"),
                region: Some(station.site.region.to_string()),
                location: Some((
                    at.lat + rng.gen_range(-0.02..0.02),
                    at.lng + rng.gen_range(-0.02..0.02),
                )),
                ..Default::default()
            },
        )
        .await?;
        ids.push(id.to_string());
    }
    println!(
        "first aid on {} county menus; {} needs at {} stations in {:.1} s",
        centers.len(),
        ids.len(),
        stations.len(),
        started.elapsed().as_secs_f64()
    );
    write_lines(&args.out.join("candidate-orders.txt"), ids)?;
    Ok(())
}

/// Offers and recalls the prepared orders: worker `w` owns orders `w, w + n, w + 2n…` and
/// moves them in turn, so that no two workers race for one order.
async fn orders(url: &str, dir: &Path, concurrency: usize, seconds: u64) -> anyhow::Result<()> {
    let token = std::fs::read_to_string(dir.join("orders-admin.txt"))?
        .trim()
        .to_owned();
    let ids: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(dir.join("orders.txt"))?
            .lines()
            .map(str::to_owned)
            .collect(),
    );
    anyhow::ensure!(
        ids.len() >= concurrency,
        "prepare at least one order per worker"
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers = (0..concurrency).map(|w| {
        let (client, ids, token, url) =
            (client.clone(), ids.clone(), token.clone(), url.to_owned());
        tokio::spawn(async move {
            let mine: Vec<&String> = ids.iter().skip(w).step_by(concurrency).collect();
            // An order starts open: offer first, then recall, and so on.
            let mut offered = vec![false; mine.len()];
            let (mut latencies, mut failures) = (Vec::new(), 0usize);
            let mut i = 0;
            while Instant::now() < deadline {
                let k = i % mine.len();
                let action = if offered[k] { "recall" } else { "offer" };
                let t = Instant::now();
                let r = client
                    .post(format!("{url}/api/v1/orders/{}/actions", mine[k]))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({ "action": action }))
                    .send()
                    .await;
                // Read to the end, so the connection is reused (see `rate`).
                let r = match r {
                    Ok(r) => {
                        let status = r.status();
                        r.bytes().await.map(|_| status)
                    }
                    Err(e) => Err(e),
                };
                match r {
                    Ok(s) if s.is_success() => {
                        latencies.push(t.elapsed());
                        offered[k] = !offered[k];
                    }
                    // Left the other way by an earlier run: move it back next time.
                    Ok(reqwest::StatusCode::CONFLICT) => {
                        failures += 1;
                        offered[k] = !offered[k];
                    }
                    _ => failures += 1,
                }
                i += 1;
            }
            (latencies, failures)
        })
    });
    report("order transitions", started, workers).await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Prepare(args) => prepare(args).await,
        Command::Pairs {
            url,
            dir,
            concurrency,
            seconds,
            start,
        } => pairs(&url, &dir, concurrency, seconds, start).await,
        Command::Contention { url, dir, n } => contention(&url, &dir, n).await,
        Command::OrdersPrepare(args) => orders_prepare(args).await,
        Command::MatchPrepare(args) => match_prepare(args).await,
        Command::CallsPrepare {
            database_url,
            out,
            qualified,
        } => calls_prepare(database_url, &out, qualified).await,
        Command::Orders {
            url,
            dir,
            concurrency,
            seconds,
        } => orders(&url, &dir, concurrency, seconds).await,
        Command::Csv { dir, rows } => csv(&dir, rows),
        Command::Rate {
            url,
            dir,
            what,
            rate: per_second,
            seconds,
        } => rate(&url, &dir, &what, per_second, seconds).await,
    }
}
