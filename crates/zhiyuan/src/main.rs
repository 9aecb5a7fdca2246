//! `zhiyuan`: the one binary. It parses the command line and calls the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use zhiyuan::{Config, config};
use zhiyuan_service::{Ctx, NewStaff};

/// mimalloc: a request allocates many small objects, and glibc's allocator showed up in
/// profiles of the load run (see docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "zhiyuan",
    version,
    about = "Volunteer service information platform"
)]
struct Cli {
    /// Configuration file (default: ./zhiyuan.toml when it exists).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DB.
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the server (migrating first).
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Seeds a small demo province into an empty database and prints demo logins.
        #[arg(long)]
        demo: bool,
    },
    /// Applies database migrations and loads reference data.
    Migrate,
    /// Writes a synthetic province into an empty database.
    Seed {
        #[arg(long)]
        volunteers: u64,
        /// Service records to generate for them (about 20 per volunteer in Guangdong).
        #[arg(long, default_value_t = 0)]
        records: u64,
        /// Seed of the generator: the same seed gives the same province.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Prints a commented configuration file with every default.
    DefaultConfig,
    /// Creates a jurisdiction administrator (to bootstrap a new installation). The password
    /// is read from the first line of standard input.
    CreateAdmin {
        #[arg(long)]
        login: String,
        /// The jurisdiction, e.g. 440000 for the whole province.
        #[arg(long)]
        region: String,
        #[arg(long, default_value = "管理员")]
        display_name: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::DefaultConfig = cli.command {
        print!("{}", config::EXAMPLE);
        return Ok(());
    }
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(url) = cli.database_url {
        config.database.url = url;
    }
    zhiyuan::init_logging(&config.log);
    match cli.command {
        Command::Serve { listen, demo } => {
            if let Some(addr) = listen {
                config.server.listen = addr;
            }
            serve(config, demo).await
        }
        Command::Migrate => {
            zhiyuan::build(&config).await?;
            println!("migrations applied; reference data loaded");
            Ok(())
        }
        Command::Seed {
            volunteers,
            records,
            seed,
        } => seed_province(config, volunteers, records, seed).await,
        Command::CreateAdmin {
            login,
            region,
            display_name,
        } => {
            let app = zhiyuan::build(&config).await?;
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let region = zhiyuan_domain::region::RegionCode::parse(&region)
                .map_err(|e| anyhow::anyhow!("--region: {}", e.reason))?;
            let account = app
                .zhiyuan
                .create_staff(
                    &Ctx::system("create-admin"),
                    NewStaff {
                        login,
                        display_name,
                        password: password.trim_end_matches(['\r', '\n']).to_owned(),
                        role: zhiyuan_domain::access::GrantedRole::JurisdictionAdmin,
                        region: Some(region),
                        site: None,
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            println!("created administrator {} for {region}", account.login);
            Ok(())
        }
        Command::DefaultConfig => Ok(()),
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let app = zhiyuan::build(&config).await?;
    if demo {
        match app.zhiyuan.seed_demo().await {
            Ok(logins) => {
                println!(
                    "Demo province ready. Demo logins (password for all: {}):",
                    logins.password
                );
                for (role, login) in &logins.accounts {
                    println!("  {role:<22} {login}");
                }
            }
            Err(zhiyuan_service::ServiceError::Conflict { .. }) => {
                println!("The database already holds data; --demo seeds only an empty one.");
            }
            Err(e) => return Err(anyhow::anyhow!("demo seeding failed: {e:?}")),
        }
    }
    zhiyuan_service::spawn_housekeeping(
        app.zhiyuan.clone(),
        time::Duration::seconds(config.attendance.auto_close_every_secs.max(10)),
    );
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = app.zhiyuan.store().backend(), "listening");
    println!("zhiyuan is serving on http://{addr}");
    zhiyuan::serve(listener, app.router, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

async fn seed_province(
    config: Config,
    volunteers: u64,
    records: u64,
    seed: u64,
) -> anyhow::Result<()> {
    use zhiyuan_service::seed::SeedPhase;
    let app = zhiyuan::build(&config).await?;
    let style = |what: &str| {
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {what} ({{per_sec}}, eta {{eta}})"
        ))
    };
    let people = ProgressBar::new(volunteers).with_style(style("volunteers")?);
    let entries = ProgressBar::hidden();
    entries.set_length(records);
    entries.set_style(style("records")?);
    let started = std::time::Instant::now();
    let records_started = std::sync::Mutex::new(None::<std::time::Instant>);
    let report = app
        .zhiyuan
        .seed_province(volunteers, records, seed, |phase, n| match phase {
            SeedPhase::Volunteers => people.set_position(n),
            SeedPhase::Records => {
                if let Ok(mut s) = records_started.lock()
                    && s.is_none()
                {
                    *s = Some(std::time::Instant::now());
                    people.finish();
                    entries.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                }
                entries.set_position(n);
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    people.finish();
    entries.finish();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {} regions, {} sites, {} teams, {} volunteers and {} records in {:.1} s",
        report.regions, report.sites, report.teams, report.volunteers, report.records, secs
    );
    // The records phase started with its first batch written: time it from there.
    let records_phase = records_started.lock().ok().and_then(|s| *s);
    match records_phase {
        Some(t) => {
            let r = t.elapsed().as_secs_f64();
            println!(
                "volunteers: {:.0}/s; records: {:.0}/s",
                report.volunteers as f64 / (secs - r),
                report.records as f64 / r
            );
        }
        None => println!("volunteers: {:.0}/s", report.volunteers as f64 / secs),
    }
    Ok(())
}
