//! Connections: opening the file with the right pragmas, the writer, and the reader pool.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};
use zhiyuan_store::{Result, StoreError};

use crate::conv::store_err;

/// Reader connections per core. Reads beyond this many wait (asynchronously) for a free
/// connection instead of piling up blocking threads and fresh connections.
const READERS_PER_CORE: usize = 4;

/// The SQLite store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Jobs for the writer thread, which owns the one writing connection.
    writer: mpsc::Sender<Job>,
    /// Dropped with the store, which stops the checkpointer.
    _checkpointer: std::sync::mpsc::Sender<()>,
    /// Idle reader connections; at most `read_permits` exist.
    readers: Mutex<Vec<Connection>>,
    read_permits: tokio::sync::Semaphore,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// The file path of a `sqlite://` URL: `sqlite://./data/z.db` is relative,
/// `sqlite:///var/lib/z.db` absolute.
pub fn path_of_url(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let rest = rest.split('?').next().unwrap_or_default();
    (!rest.is_empty()).then(|| PathBuf::from(rest))
}

/// Page cache of the writer, in KiB.
const WRITER_CACHE_KIB: i64 = 64 * 1024;
/// Page cache of each reader, in KiB: readers read through the shared memory map, so a
/// private cache only holds hot interior pages.
const READER_CACHE_KIB: i64 = 8 * 1024;

fn configure(conn: &Connection, cache_kib: i64) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{cache_kib};
         PRAGMA mmap_size = 0;"
    ))?;
    // Plans must not depend on the values bound: otherwise SQLite re-prepares a cached
    // statement whenever a value it compared with a literal (say, with a partial index's
    // condition) is bound anew, which is every time.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn open_conn(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(store_err)?;
    let cache = if read_only {
        READER_CACHE_KIB
    } else {
        WRITER_CACHE_KIB
    };
    configure(&conn, cache).map_err(store_err)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating the file and its folder if needed) and migrates the database.
    pub async fn open(url: &str) -> Result<Self> {
        let path = path_of_url(url)
            .ok_or_else(|| StoreError::corrupt(format!("not a sqlite:// URL: {url}")))?;
        tokio::task::spawn_blocking(move || Self::open_blocking(path))
            .await
            .map_err(|e| StoreError::corrupt(e.to_string()))?
    }

    fn open_blocking(path: PathBuf) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut writer = open_conn(&path, false)?;
        crate::migrate::migrate(&mut writer)?;
        // Checkpoints run on a thread of their own, off the writer's path.
        writer
            .execute_batch(
                "PRAGMA wal_autocheckpoint = 0;
                 PRAGMA journal_size_limit = 67108864;",
            )
            .map_err(store_err)?;
        let checkpointer = open_conn(&path, false)?;
        let commits = Arc::new(AtomicU64::new(0));
        let (jobs, queue) = mpsc::channel(WRITE_QUEUE);
        let (stop, stopped) = std::sync::mpsc::channel();
        let start = |name: &str, run: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(run)
                .map_err(|e| StoreError::Unavailable(format!("cannot start {name}: {e}")))
        };
        let counted = commits.clone();
        start(
            "zhiyuan-sqlite-writer",
            Box::new(move || run_writer(writer, queue, &counted)),
        )?;
        start(
            "zhiyuan-sqlite-checkpointer",
            Box::new(move || run_checkpointer(checkpointer, &commits, &stopped)),
        )?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: jobs,
                _checkpointer: stop,
                readers: Mutex::new(Vec::new()),
                read_permits: tokio::sync::Semaphore::new(cores * READERS_PER_CORE),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a reader connection on a blocking thread.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _permit = self
            .inner
            .read_permits
            .acquire()
            .await
            .map_err(|_| StoreError::corrupt("reader pool closed"))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            // Holding a permit guarantees a pooled connection or room to open one.
            let pooled = inner.readers.lock().ok().and_then(|mut r| r.pop());
            let conn = match pooled {
                Some(c) => c,
                None => open_conn(&inner.path, true)?,
            };
            let result = f(&conn).map_err(store_err);
            if let Ok(mut readers) = inner.readers.lock() {
                readers.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::corrupt(e.to_string()))?
    }

    /// Runs a short read (a lookup by key, or a bounded handful of rows) on the calling
    /// thread when a pooled reader is free: it takes microseconds, less than the two
    /// thread switches of a trip to a blocking thread. Otherwise it goes the way of
    /// [`Self::read`].
    pub(crate) async fn lookup<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let inline = self
            .inner
            .read_permits
            .try_acquire()
            .ok()
            .and_then(|permit| {
                let conn = self.inner.readers.lock().ok()?.pop()?;
                Some((permit, conn))
            });
        let Some((_permit, conn)) = inline else {
            return self.read(f).await;
        };
        let result = f(&conn).map_err(store_err);
        if let Ok(mut readers) = self.inner.readers.lock() {
            readers.push(conn);
        }
        result
    }

    /// Runs `f` on the writer, in a savepoint of a transaction that commits before this
    /// returns. Writes arriving together share one transaction (group commit): each keeps
    /// its own outcome, since a failing `f` rolls back to its savepoint, but they pay for
    /// one commit between them.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let (reply, outcome) = oneshot::channel();
        let job: Job = Box::new(move |tx| {
            let result = tx.map(|tx| in_savepoint(tx, f));
            Box::new(move |committed| {
                let outcome = match (committed, result) {
                    (Ok(()), Some(result)) => result,
                    (Err(e), _) => Err(same_error(e)),
                    (Ok(()), None) => Err(StoreError::corrupt("a write did not run")),
                };
                // The caller may have gone away; the write stands regardless.
                let _ = reply.send(outcome);
            })
        });
        let closed = || StoreError::Unavailable("the SQLite writer has stopped".into());
        self.inner.writer.send(job).await.map_err(|_| closed())?;
        outcome.await.map_err(|_| closed())?
    }
}

/// Writes queued for the writer before senders wait.
const WRITE_QUEUE: usize = 4096;
/// Most writes sharing one transaction; bounds how long a write waits for the others.
const GROUP_MAX: usize = 256;

/// A write: runs in the open transaction (`None` if none could be begun) and returns how
/// to report its outcome once the transaction has committed or failed to.
type Job = Box<dyn FnOnce(Option<&Transaction<'_>>) -> Deliver + Send>;
type Deliver = Box<dyn FnOnce(std::result::Result<(), &StoreError>) + Send>;

/// The same error again, for each write of a group whose commit failed.
fn same_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Conflict { field } => StoreError::Conflict { field },
        StoreError::Refused(why) => StoreError::Refused(why.clone()),
        StoreError::Unavailable(why) => StoreError::Unavailable(why.clone()),
        StoreError::Internal(why) => StoreError::corrupt(why.to_string()),
    }
}

/// Runs `f` between `SAVEPOINT` and `RELEASE`, rolling its changes back if it fails or
/// panics, so that one failed write leaves the others of its group intact.
fn in_savepoint<T>(
    tx: &Transaction<'_>,
    f: impl FnOnce(&Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let run = |sql: &str| {
        tx.prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map_err(store_err)
    };
    run("SAVEPOINT w")?;
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(tx)))
        .unwrap_or_else(|_| Err(StoreError::corrupt("a write panicked")));
    if result.is_err() {
        run("ROLLBACK TO w")?;
    }
    run("RELEASE w")?;
    result
}

/// The writer thread: takes the waiting writes (at most [`GROUP_MAX`]) into one immediate
/// transaction, commits, then reports each outcome. Stops when every store handle is gone.
fn run_writer(mut conn: Connection, mut queue: mpsc::Receiver<Job>, commits: &AtomicU64) {
    while let Some(first) = queue.blocking_recv() {
        let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => {
                first(None)(Err(&store_err(e)));
                continue;
            }
        };
        let mut delivers = vec![first(Some(&tx))];
        // A write that broke the transaction (SQLite rolls everything back on some I/O
        // errors) ends the group; the failed commit then reports it to all its writes.
        while delivers.len() < GROUP_MAX && !tx.is_autocommit() {
            let Ok(job) = queue.try_recv() else { break };
            delivers.push(job(Some(&tx)));
        }
        let committed = tx.commit().map_err(store_err);
        commits.fetch_add(1, Ordering::Relaxed);
        for deliver in delivers {
            deliver(committed.as_ref().map(|_| ()));
        }
    }
}

/// How often the checkpointer looks for new commits to copy into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// The checkpointer thread: copies committed pages from the WAL into the database file
/// (a passive checkpoint: it never blocks the writer or readers), when there were new
/// commits. Stops when the store is dropped.
fn run_checkpointer(conn: Connection, commits: &AtomicU64, stop: &std::sync::mpsc::Receiver<()>) {
    let mut seen = 0;
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY)
    {
        let now = commits.load(Ordering::Relaxed);
        if now != seen {
            seen = now;
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "SQLite checkpoint failed; retrying later");
            }
        }
    }
}
