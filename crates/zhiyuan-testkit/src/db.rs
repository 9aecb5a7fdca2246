//! Per-test databases.

use std::sync::Arc;

use rand::Rng;
use zhiyuan::config::DatabaseConfig;
use zhiyuan_store::Store;

/// The backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// From `ZHIYUAN_TEST_BACKEND`.
    pub fn current() -> Self {
        match std::env::var("ZHIYUAN_TEST_BACKEND").as_deref() {
            Ok("postgres") => Self::Postgres,
            Ok("sqlite") | Err(_) => Self::Sqlite,
            Ok(other) => panic!("ZHIYUAN_TEST_BACKEND={other}: use sqlite or postgres"),
        }
    }
}

fn admin_url() -> String {
    std::env::var("ZHIYUAN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    /// Holds the SQLite file's folder.
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        match Backend::current() {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}", dir.path().join("zhiyuan.db").display()),
                backend: Backend::Sqlite,
                dir,
                pg_name: None,
            },
            Backend::Postgres => {
                let name = format!("zy_test_{:016x}", rand::thread_rng().r#gen::<u64>());
                let (client, conn) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
                    .await
                    .expect("PostgreSQL for tests (ZHIYUAN_TEST_POSTGRES_URL)");
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                let base = admin_url();
                let server = base.rsplit_once('/').map_or(base.as_str(), |(s, _)| s);
                Self {
                    url: format!("{server}/{name}"),
                    backend: Backend::Postgres,
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// The same database for a second app server: dropping it leaves the database.
    pub fn beside(&self) -> Self {
        Self {
            url: self.url.clone(),
            backend: self.backend,
            dir: tempfile::tempdir().expect("temporary folder"),
            pg_name: None,
        }
    }

    pub fn config(&self) -> DatabaseConfig {
        DatabaseConfig {
            url: self.url.clone(),
            pool_size: 24,
            migration_lock: true,
        }
    }

    /// Runs SQL directly on the database, behind the application's back: for tests that
    /// prove tampering is caught.
    pub async fn execute_raw(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                let path = self.url.trim_start_matches("sqlite://").to_owned();
                let sql = sql.to_owned();
                tokio::task::spawn_blocking(move || {
                    let c = rusqlite::Connection::open(path).expect("open SQLite directly");
                    c.busy_timeout(std::time::Duration::from_secs(5))
                        .expect("busy timeout");
                    c.execute_batch(&sql).expect("raw SQL");
                })
                .await
                .expect("raw SQL task");
            }
            Backend::Postgres => {
                let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                    .await
                    .expect("connect to PostgreSQL directly");
                tokio::spawn(conn);
                client.batch_execute(sql).await.expect("raw SQL");
            }
        }
    }

    /// Opens (and migrates) the store.
    pub async fn store(&self) -> Arc<dyn Store> {
        zhiyuan::open_store(&self.config())
            .await
            .expect("open test store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside async context: use a private runtime on its own thread.
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        });
        let _ = handle.join();
    }
}
