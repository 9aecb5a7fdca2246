//! Connections: opening the file with the right pragmas, the writer, and the reader pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
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
    writer: Mutex<Connection>,
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
         PRAGMA mmap_size = 4294967296;"
    ))?;
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
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
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

    /// Runs `f` in an immediate transaction on the writer, committing if it succeeds.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .writer
                .lock()
                .map_err(|_| StoreError::corrupt("writer connection poisoned"))?;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(store_err)?;
            let value = f(&tx)?;
            tx.commit().map_err(store_err)?;
            Ok(value)
        })
        .await
        .map_err(|e| StoreError::corrupt(e.to_string()))?
    }
}
