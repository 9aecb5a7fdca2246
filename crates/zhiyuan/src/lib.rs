//! The zhiyuan application as a library: [`build`] wires configuration, storage, the
//! vault and the HTTP router; [`serve`] runs it on a listener until shutdown. `main` only
//! parses the command line and calls these, so tests run the real server on port 0.

pub mod config;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use zhiyuan_service::{Vault, Zhiyuan};
use zhiyuan_store::Store;
use zhiyuan_store_postgres::{PgOptions, PgStore};
use zhiyuan_store_sqlite::SqliteStore;

pub use config::Config;

/// Opens (and migrates) the store the URL names: `sqlite://` or `postgres://`.
pub async fn open_store(db: &config::DatabaseConfig) -> anyhow::Result<Arc<dyn Store>> {
    let url = db.url.as_str();
    if url.starts_with("sqlite:") {
        let store = SqliteStore::open(url)
            .await
            .with_context(|| format!("opening SQLite at {url}"))?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let options = PgOptions {
            pool_size: db.pool_size,
            migration_lock: db.migration_lock,
        };
        // The URL may carry a password: say which host, not the URL.
        let store = PgStore::open(url, &options)
            .await
            .context("opening PostgreSQL")?;
        Ok(Arc::new(store))
    } else {
        anyhow::bail!("database.url must start with sqlite:// or postgres://")
    }
}

/// The vault from the configured key, or from the key file (created on first run).
pub fn open_vault(security: &config::SecurityConfig) -> anyhow::Result<Vault> {
    match &security.document_key {
        Some(key) => Vault::from_base64(key.expose_secret()).context("security.document_key"),
        None => {
            Vault::load_or_create(&security.document_key_file).context("security.document_key_file")
        }
    }
}

/// The assembled application.
#[derive(Debug, Clone)]
pub struct App {
    pub zhiyuan: Zhiyuan,
    pub router: axum::Router,
}

/// Opens storage (running migrations and loading reference data) and builds the router.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    let store = open_store(&config.database).await?;
    let vault = open_vault(&config.security)?;
    let mut service = config.service();
    service.ledger = config.ledger()?;
    service.issuer = config.issuer()?;
    let zhiyuan = Zhiyuan::new(store, vault, service);
    zhiyuan
        .ensure_reference_data()
        .await
        .context("loading reference regions")?;
    let router = zhiyuan_http::router(
        zhiyuan.clone(),
        &zhiyuan_http::HttpOptions {
            body_limit: config.server.body_limit_kib * 1024,
        },
    );
    Ok(App { zhiyuan, router })
}

/// Serves `router` on `listener` until `shutdown` completes, then drains connections.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Sets up logging: text or JSON lines on stderr; `RUST_LOG` overrides the filter.
pub fn init_logging(log: &config::LogConfig) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.filter));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = if log.format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    // A second initialisation (tests) keeps the first subscriber.
    drop(result);
}
