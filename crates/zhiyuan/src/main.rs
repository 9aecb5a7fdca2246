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
    /// Verifiable credentials.
    Credential {
        #[command(subcommand)]
        command: CredentialCommand,
    },
    /// The tamper-evident ledger: audit, monitor, export, keys.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
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

#[derive(Debug, Subcommand)]
enum CredentialCommand {
    /// Verifies a credential file: its eddsa-jcs-2022 signature by the issuer's key, its
    /// ledger inclusion proofs against the signed checkpoint they carry, and (unless
    /// --offline) its revocation status. Exits 0 only for a valid, unrevoked credential.
    Verify {
        file: PathBuf,
        /// The issuer's public key (multibase); otherwise its did:web document is fetched.
        #[arg(long)]
        issuer_key: Option<String>,
        /// Do not fetch anything: needs --issuer-key; the status is not checked.
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Recomputes every ledger entry from the database and the tree from the entries, and
    /// reports by record anything changed, inserted or deleted outside zhiyuan. Exits 0
    /// only when everything matches.
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Checks that checkpoint NEW extends checkpoint OLD (both signed notes), with a
    /// consistency proof from the log at --log, or from the configured database.
    Consistency {
        old: PathBuf,
        new: PathBuf,
        /// The log's base URL, e.g. https://zhiyuan.example (asks its proof API).
        #[arg(long)]
        log: Option<String>,
        /// The log's origin (default: this installation's).
        #[arg(long)]
        origin: Option<String>,
        /// Trusted verifier keys `name+id+key` (default: this installation's).
        #[arg(long = "key")]
        keys: Vec<String>,
    },
    /// Integrates every waiting entry now and signs a checkpoint (after a bulk load; the
    /// server does this on its own).
    Integrate,
    /// Writes the latest checkpoint and every tile and entry bundle it covers under DIR,
    /// in the C2SP tlog-tiles layout, for any static web server or CDN.
    Export { dir: PathBuf },
    /// Prints a new signing key and its verifier key (for a new log or a key rotation).
    Keygen {
        /// The key's name: the log's origin.
        #[arg(long)]
        name: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // No transparent huge pages: the first touch of one zeroes all 2 MiB of it at once,
    // and mimalloc's arenas ask for them, which put 5–11 ms into a few requests in a
    // hundred (docs/PERFORMANCE.md, "Twentieth round"). Small pages are zeroed as they
    // are used. Best effort: a kernel without the setting serves the same, with that tail.
    #[cfg(target_os = "linux")]
    rustix::thread::disable_transparent_huge_pages(true).ok();
    let cli = Cli::parse();
    if let Command::DefaultConfig = cli.command {
        print!("{}", config::EXAMPLE);
        return Ok(());
    }
    if let Command::Credential {
        command:
            CredentialCommand::Verify {
                file,
                issuer_key,
                offline,
            },
    } = &cli.command
    {
        return verify_credential(file, issuer_key.as_deref(), *offline).await;
    }
    if let Command::Ledger {
        command: LedgerCommand::Keygen { name },
    } = &cli.command
    {
        let signer = zhiyuan_service::LedgerSettings::ephemeral(name).signer;
        println!("signing key (secret): {}", signer.to_skey());
        println!("verifier key:         {}", signer.verifier().to_vkey());
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
        Command::Ledger { command } => ledger(config, command).await,
        Command::Credential { .. } => Ok(()),
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
                // The logins in one column, however long the longest role.
                let width = logins.accounts.iter().map(|(role, _)| role.len()).max();
                let width = width.unwrap_or(0);
                for (role, login) in &logins.accounts {
                    println!("  {role:<width$} {login}");
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
    zhiyuan_service::spawn_notifier(
        app.zhiyuan.clone(),
        time::Duration::milliseconds(config.notify.every_ms.max(50) as i64),
    );
    zhiyuan_service::spawn_listener(
        app.zhiyuan.clone(),
        std::time::Duration::from_millis(config.server.announcements_every_ms.max(10)),
    )
    .await
    .map_err(|e| anyhow::anyhow!("reading other app servers' announcements: {e:?}"))?;
    zhiyuan_service::spawn_sequencer(
        app.zhiyuan.clone(),
        std::time::Duration::from_millis(config.ledger.integrate_every_ms.max(10)),
    );
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = app.zhiyuan.store().backend(), "listening");
    println!("zhiyuan is serving on http://{addr}");
    println!("  the API, described: http://{addr}/api/v1/openapi.json");
    println!("  a certificate verified by its number: http://{addr}/verify");
    // Links given out name `public_url`, not the address served: the two part when the
    // server runs on another port than configured, or behind a proxy (as it should).
    let public_url = config.server.public_url.trim_end_matches('/');
    if public_url != format!("http://{addr}") {
        println!(
            "  links it gives out (certificates' QR codes, calendar links) lead to {public_url}: \
             set server.public_url to where the public reaches it"
        );
    }
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

async fn ledger(config: Config, command: LedgerCommand) -> anyhow::Result<()> {
    use zhiyuan_ledger::{Checkpoint, NoteVerifier, verify_consistency};
    match command {
        LedgerCommand::Verify { json } => {
            let app = zhiyuan::build(&config).await?;
            let bar = ProgressBar::new_spinner().with_style(ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {pos} leaves and rows checked",
            )?);
            let started = std::time::Instant::now();
            let report = app
                .zhiyuan
                .verify_ledger(&|n| bar.set_position(n))
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            bar.finish_and_clear();
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "{} leaves ({} signed), {} rows checked, {} entries waiting, in {:.1} s",
                    report.leaves,
                    report.checkpoint_size.unwrap_or(0),
                    report.subjects_checked,
                    report.pending,
                    started.elapsed().as_secs_f64()
                );
                for p in &report.problems {
                    let subject = p.subject.map_or(String::new(), |s| format!(" {s}"));
                    let index = p.index.map_or(String::new(), |i| format!(" (leaf {i})"));
                    println!("{:?}: {}{subject}{index}: {}", p.problem, p.kind, p.detail);
                }
            }
            if report.problems.is_empty() {
                println!("the ledger matches the database");
                Ok(())
            } else {
                eprintln!("{} problems found", report.problems.len());
                std::process::exit(1);
            }
        }
        LedgerCommand::Consistency {
            old,
            new,
            log,
            origin,
            keys,
        } => {
            let settings = config.ledger()?;
            let origin = origin.unwrap_or(settings.origin.clone());
            let trusted = if keys.is_empty() {
                settings.verifiers()
            } else {
                keys.iter()
                    .map(|k| NoteVerifier::parse(k).map_err(|e| anyhow::anyhow!("--key {k}: {e}")))
                    .collect::<anyhow::Result<Vec<_>>>()?
            };
            let open = |path: &PathBuf| -> anyhow::Result<Checkpoint> {
                let note = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                Checkpoint::open(&note, &origin, &trusted)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
            };
            let (a, b) = (open(&old)?, open(&new)?);
            anyhow::ensure!(
                a.size <= b.size,
                "{} ({} leaves) is older than {} ({} leaves)",
                new.display(),
                b.size,
                old.display(),
                a.size
            );
            let proof = if a.size == 0 || a.size == b.size {
                Vec::new()
            } else if let Some(base) = log {
                let url = format!(
                    "{}/api/v1/ledger/consistency?first={}&second={}",
                    base.trim_end_matches('/'),
                    a.size,
                    b.size
                );
                let body: serde_json::Value = reqwest::get(&url)
                    .await
                    .with_context(|| format!("asking {url}"))?
                    .error_for_status()?
                    .json()
                    .await?;
                decode_proof(&body["proof"])?
            } else {
                let app = zhiyuan::build(&config).await?;
                app.zhiyuan
                    .consistency_proof(a.size, b.size)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?
            };
            if a.size > 0 {
                verify_consistency(a.size, b.size, &proof, &a.root, &b.root).map_err(|e| {
                    anyhow::anyhow!(
                        "the checkpoint of {} leaves is NOT consistent with the one of {}: {e}",
                        b.size,
                        a.size
                    )
                })?;
            }
            println!(
                "consistent: the log of {} leaves extends the log of {} leaves",
                b.size, a.size
            );
            Ok(())
        }
        LedgerCommand::Export { dir } => {
            let app = zhiyuan::build(&config).await?;
            let files = app
                .zhiyuan
                .export_ledger(&dir)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            println!("wrote {files} files under {}", dir.display());
            Ok(())
        }
        LedgerCommand::Integrate => {
            let app = zhiyuan::build(&config).await?;
            let waiting = app
                .zhiyuan
                .store()
                .ledger_pending()
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let bar = ProgressBar::new(waiting).with_style(ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} entries ({per_sec}, eta {eta})",
            )?);
            let started = std::time::Instant::now();
            let done = app
                .zhiyuan
                .integrate_waiting(&|n| bar.set_position(n))
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            bar.finish_and_clear();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "integrated {} entries in {secs:.1} s ({:.0}/s); the log has {} leaves",
                done.added,
                done.added as f64 / secs.max(1e-9),
                done.tree.size
            );
            Ok(())
        }
        LedgerCommand::Keygen { .. } => Ok(()),
    }
}

/// Base64 hashes from a proof API's JSON array.
fn decode_proof(value: &serde_json::Value) -> anyhow::Result<Vec<zhiyuan_ledger::Hash>> {
    use base64::Engine;
    value
        .as_array()
        .context("the proof is not a list")?
        .iter()
        .map(|h| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(h.as_str().context("a proof hash is not a string")?)?;
            zhiyuan_ledger::Hash::try_from(bytes.as_slice())
                .map_err(|_| anyhow::anyhow!("a proof hash is not 32 bytes"))
        })
        .collect()
}

async fn fetch_json(url: &str) -> anyhow::Result<serde_json::Value> {
    reqwest::get(url)
        .await
        .with_context(|| format!("fetching {url}"))?
        .error_for_status()
        .with_context(|| format!("fetching {url}"))?
        .json()
        .await
        .with_context(|| format!("reading {url}"))
}

/// `zhiyuan credential verify`: needs no configuration or database.
async fn verify_credential(
    file: &std::path::Path,
    issuer_key: Option<&str>,
    offline: bool,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let credential: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let method = credential["proof"]["verificationMethod"]
        .as_str()
        .context("the credential has no proof.verificationMethod")?
        .to_owned();
    let key = match issuer_key {
        Some(k) => k.to_owned(),
        None => {
            anyhow::ensure!(!offline, "--offline needs --issuer-key");
            let did = method.split('#').next().unwrap_or_default();
            let url = zhiyuan_service::did_web_url(did)
                .with_context(|| format!("{did} is not a did:web"))?;
            let doc = fetch_json(&url).await?;
            doc["verificationMethod"]
                .as_array()
                .and_then(|m| m.iter().find(|m| m["id"] == method.as_str()))
                .and_then(|m| m["publicKeyMultibase"].as_str())
                .with_context(|| format!("{url} does not publish {method}"))?
                .to_owned()
        }
    };
    let key = zhiyuan_credentials::public_key_from_multibase(&key)
        .map_err(|e| anyhow::anyhow!("the issuer key: {e}"))?;
    let status_list = match credential["credentialStatus"]["statusListCredential"].as_str() {
        Some(url) if !offline => Some(fetch_json(url).await?),
        _ => None,
    };
    match zhiyuan_service::check_credential(&credential, &key, status_list.as_ref()) {
        Err(why) => {
            eprintln!("INVALID: {why}");
            std::process::exit(1);
        }
        Ok(check) if check.revoked == Some(true) => {
            eprintln!("REVOKED: the issuer's status list marks this credential revoked");
            std::process::exit(1);
        }
        Ok(check) => {
            println!("valid: signed by {}", check.signed_by);
            for (index, size) in &check.ledger {
                println!("  in the ledger: leaf {index} of the signed checkpoint of {size} leaves");
            }
            println!(
                "  status: {}",
                match check.revoked {
                    Some(_) => "not revoked",
                    None => "not checked (offline)",
                }
            );
            Ok(())
        }
    }
}
