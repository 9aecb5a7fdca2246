//! Connections: opening the file with the right pragmas, the writer, and the reader pool.

use std::cell::Cell;
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
/// Page cache of each reader, in KiB. Every commit by the writer empties it (WAL), so a
/// large one would only hold pages until the next write; the OS page cache is shared.
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
        tokio::task::spawn_blocking(move || Self::open_blocking(path, WalLimits::default()))
            .await
            .map_err(|e| StoreError::corrupt(e.to_string()))?
    }

    fn open_blocking(path: PathBuf, limits: WalLimits) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut writer = open_conn(&path, false)?;
        crate::migrate::migrate(&mut writer)?;
        // Checkpoints run on a thread of their own, off the writer's path; the writer only
        // learns from its WAL hook how long the WAL has grown (this replaces SQLite's
        // automatic checkpoints, which would run on the writer after a commit).
        writer
            .execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = 0;
                 PRAGMA journal_size_limit = {};",
                limits.file_bytes
            ))
            .map_err(store_err)?;
        writer.wal_hook(Some(note_wal_pages));
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
            Box::new(move || run_writer(writer, queue, &counted, limits.restart_frames)),
        )?;
        start(
            "zhiyuan-sqlite-checkpointer",
            Box::new(move || {
                run_checkpointer(checkpointer, &commits, limits.checkpoint_every, &stopped)
            }),
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

thread_local! {
    /// Pages in the WAL after this thread's last commit, as SQLite's WAL hook reports it.
    static WAL_PAGES: Cell<i64> = const { Cell::new(0) };
}

/// The writer's WAL hook: SQLite calls it on the committing thread after each commit.
fn note_wal_pages(_: &rusqlite::hooks::Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_PAGES.set(pages.into());
    Ok(())
}

/// How large the WAL may grow, and how often it is copied into the database file.
#[derive(Debug, Clone, Copy)]
struct WalLimits {
    /// Pages (4 KiB each) beyond which the writer restarts the WAL. SQLite starts a WAL
    /// over by itself only when a write begins with every page already copied, which a
    /// steady stream of writes rarely allows, so without this it would grow as long as a
    /// load lasts.
    restart_frames: i64,
    /// The size the WAL file is cut back to when it restarts (`journal_size_limit`).
    file_bytes: i64,
    /// How often the checkpointer looks for new commits to copy into the database file.
    checkpoint_every: Duration,
}

impl Default for WalLimits {
    fn default() -> Self {
        Self {
            restart_frames: 32_768,
            file_bytes: 64 << 20,
            checkpoint_every: Duration::from_millis(50),
        }
    }
}

/// The writer thread: takes the waiting writes (at most [`GROUP_MAX`]) into one immediate
/// transaction, commits, then reports each outcome. Restarts the WAL once it holds more
/// than `restart_frames` pages; if a reader keeps it from starting over, tries again
/// each time it has grown by another eighth of that. Stops when every store handle is
/// gone.
fn run_writer(
    mut conn: Connection,
    mut queue: mpsc::Receiver<Job>,
    commits: &AtomicU64,
    restart_frames: i64,
) {
    let mut restart_above = restart_frames;
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
        let pages = WAL_PAGES.get();
        if pages <= restart_frames {
            restart_above = restart_frames;
        } else if pages > restart_above {
            restart_wal(&conn);
            restart_above = pages + (restart_frames / 8).max(1);
        }
    }
}

/// Copies what the checkpointer has not yet copied (little, usually), with no new
/// commits in between, so that the next transaction finds the WAL fully copied and writes
/// it from the start again (the file is then cut back to `journal_size_limit`). A passive
/// checkpoint never waits: if the checkpointer holds the checkpoint lock, or a reader
/// still needs the WAL, the writer tries again once the WAL has grown a little more.
/// (A `RESTART` checkpoint would wait for readers, in the busy handler's sleeps of up to
/// 100 ms: under load it stalled every write for as long.)
fn restart_wal(conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "SQLite WAL restart failed; retrying later");
    }
}

/// The checkpointer thread: copies committed pages from the WAL into the database file
/// (a passive checkpoint: it never blocks the writer or readers) when there were new
/// commits, so that the writer's restarts find little left to copy. Stops when the store
/// is dropped.
fn run_checkpointer(
    conn: Connection,
    commits: &AtomicU64,
    every: Duration,
    stop: &std::sync::mpsc::Receiver<()>,
) {
    let mut seen = 0;
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(every) {
        let now = commits.load(Ordering::Relaxed);
        if now != seen {
            seen = now;
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "SQLite checkpoint failed; retrying later");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store whose checkpointer never runs, with a WAL limit of 64 pages.
    async fn store_without_checkpointer(dir: &tempfile::TempDir) -> (SqliteStore, PathBuf) {
        let path = dir.path().join("wal.db");
        let limits = WalLimits {
            restart_frames: 64,
            file_bytes: 256 << 10,
            checkpoint_every: Duration::from_secs(3600),
        };
        let store = tokio::task::spawn_blocking({
            let path = path.clone();
            move || SqliteStore::open_blocking(path, limits)
        })
        .await
        .expect("join")
        .expect("open");
        store
            .write(|tx| {
                tx.execute("CREATE TABLE filler (body BLOB NOT NULL)", [])
                    .map_err(store_err)
            })
            .await
            .expect("create table");
        (store, path.with_extension("db-wal"))
    }

    /// Commits `n` writes of a page each, one after the other.
    async fn fill(store: &SqliteStore, n: usize) {
        for _ in 0..n {
            store
                .write(|tx| {
                    tx.execute("INSERT INTO filler (body) VALUES (zeroblob(4000))", [])
                        .map_err(store_err)
                })
                .await
                .expect("insert");
        }
    }

    fn size(wal: &Path) -> u64 {
        std::fs::metadata(wal).expect("WAL file").len()
    }

    /// Under 64 pages, the pages of the commit that crossed the limit, and the header.
    const NEAR_THE_LIMIT: u64 = 512 << 10;

    /// The writer alone keeps the WAL near its limit: with no checkpointer copying pages
    /// (nor SQLite starting the WAL over by itself, which needs every page copied), 2,000
    /// writes of a page each would grow it past 8 MB; the writer restarts it each time
    /// its WAL hook reports more than `restart_frames` pages.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_restarts_the_wal_past_its_limit_without_the_checkpointer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, wal) = store_without_checkpointer(&dir).await;
        fill(&store, 2_000).await;
        assert!(
            size(&wal) < NEAR_THE_LIMIT,
            "the WAL has grown to {} bytes",
            size(&wal)
        );
    }

    /// A reader in the middle of a transaction keeps the WAL from starting over, so it
    /// grows; once the reader lets go, the writer's next try restarts it and the file is
    /// cut back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wal_held_by_a_reader_is_restarted_once_the_reader_lets_go() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, wal) = store_without_checkpointer(&dir).await;
        let reader = open_conn(&dir.path().join("wal.db"), true).expect("reader");
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM filler;")
            .expect("read transaction");
        fill(&store, 500).await;
        assert!(
            size(&wal) > 2 * NEAR_THE_LIMIT,
            "held: {} bytes",
            size(&wal)
        );
        reader.execute_batch("COMMIT").expect("end of the read");
        fill(&store, 100).await;
        assert!(size(&wal) < NEAR_THE_LIMIT, "let go: {} bytes", size(&wal));
    }
}
