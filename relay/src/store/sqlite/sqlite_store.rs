//! The store's handle: the writer's job queue and the read connections.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};
use tokio::sync::{mpsc, oneshot};

use crate::store::error::{StoreError, StoreResult};
use crate::store::records::StoreLimits;
use crate::store::sqlite::schema::migrate;
use crate::store::sqlite::writer::{Job, savepoint, write_loop};

/// Jobs waiting for the writer before callers wait (backpressure).
const JOB_QUEUE: usize = 8192;
/// Read connections.
const READERS: usize = 4;
/// The writer's page cache, in KiB (SQLite's `cache_size` takes KiB when negative).
const WRITER_CACHE_KIB: i64 = -64 * 1024;
/// Each reader's page cache, in KiB: small, the pages they need are the hot
/// ones the writer just wrote (in the OS cache); SQLite's default of 2 MiB
/// each added ≈ 10 MB to an idle relay's RSS.
const READER_CACHE_KIB: i64 = -512;

/// The embedded store.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: mpsc::Sender<Job>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn open_connection(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // A job's savepoint journals the pages it changes: in memory, not in a
    // temporary file (a group send changes hundreds of pages).
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Plans must not depend on bound values. Otherwise (libsqlite3-sys builds
    // SQLite with STAT4) a cached statement with an ORDER BY, a join or a
    // LIMIT on a parameter is parsed and planned again at each use, after
    // rusqlite clears its bindings: measured, that was a fifth of the relay's
    // CPU when fanning group messages out.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    // No memory map (`mmap_size` 0): mapped pages count in the relay's RSS
    // once per connection (5 of them), and a relay with 19,900 idle devices
    // measured 393 MiB instead of 184 (docs/load.md); copying pages through
    // the page cache measured no slower.
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) `relay.sqlite3` in `data_dir`, migrates it,
    /// and starts the writer thread.
    pub fn open(data_dir: &Path, limits: StoreLimits) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let path = data_dir.join("relay.sqlite3");
        let mut writer = open_connection(&path)?;
        // The only writer keeps its pages: no other connection changes them.
        writer.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| {
                let reader = open_connection(&path)?;
                reader.pragma_update(None, "cache_size", READER_CACHE_KIB)?;
                Ok(Mutex::new(reader))
            })
            .collect::<StoreResult<_>>()?;
        let (jobs, rx) = mpsc::channel::<Job>(JOB_QUEUE);
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(writer, rx, limits))
            .map_err(|source| StoreError::DataDir {
                path: data_dir.display().to_string(),
                source,
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                jobs,
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        })
    }

    /// Runs `f` in the writer's transaction; answers after the commit.
    pub(crate) async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &StoreLimits) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn, limits| {
            let result = savepoint(conn, |c| f(c, limits));
            Box::new(move |commit: Result<(), &str>| {
                let answer = match (result, commit) {
                    (Err(e), _) => Err(e),
                    (Ok(r), Ok(())) => Ok(r),
                    (Ok(_), Err(e)) => Err(StoreError::Commit(e.to_owned())),
                };
                let _ = tx.send(answer);
            })
        });
        self.inner
            .jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Interrupted)?;
        rx.await.map_err(|_| StoreError::Interrupted)?
    }

    /// Runs `f` on a read connection in a blocking thread.
    pub(crate) async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let index = inner.next_reader.fetch_add(1, Ordering::Relaxed) % READERS;
            let reader = inner.readers.get(index).ok_or(StoreError::Interrupted)?;
            // A panic cannot leave a read connection inconsistent.
            let conn = reader
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&conn)
        })
        .await
        .map_err(|_| StoreError::Interrupted)?
    }

    /// Runs `f` at once on a free read connection, on the caller's thread;
    /// in a blocking thread ([`Self::read`]) when every connection is busy.
    /// For short reads of bounded size on the delivery path (a device's next
    /// copies): the hand-off to the blocking pool cost more than the query
    /// (docs/load.md).
    pub(crate) async fn read_now<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        let start = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        for k in 0..READERS {
            let Some(reader) = self.inner.readers.get((start + k) % READERS) else {
                continue;
            };
            match reader.try_lock() {
                Ok(conn) => return f(&conn),
                // A panic cannot leave a read connection inconsistent.
                Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                    return f(&poisoned.into_inner());
                }
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        self.read(f).await
    }

    /// Returns this installation's id, created on first start.
    pub async fn installation_id(&self, fresh: String) -> StoreResult<String> {
        self.write(move |conn, _| {
            let existing: Option<String> = conn
                .query_row(
                    "SELECT value FROM relay_meta WHERE key = 'installation_id'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = existing {
                return Ok(id);
            }
            conn.execute(
                "INSERT INTO relay_meta (key, value) VALUES ('installation_id', ?1)",
                [&fresh],
            )?;
            Ok(fresh)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use estafette_wire::DeviceId;

    use super::*;
    use crate::store::traits::Store;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_waits_for_a_connection_when_every_one_is_busy() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let store = SqliteStore::open(dir.path(), StoreLimits::default())
            .unwrap_or_else(|e| unreachable!("{e}"));
        let device = DeviceId([1; 16]);
        // Free connections: answered on the caller's thread.
        assert_eq!(
            store.pending(device, 0, 10).await.ok().map(|c| c.len()),
            Some(0)
        );
        // Every connection held elsewhere: the read goes to a blocking
        // thread and waits there, not on the async worker.
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let inner = store.inner.clone();
        let holder = std::thread::spawn(move || {
            let guards: Vec<_> = inner.readers.iter().map(|r| r.lock()).collect();
            let _ = held_tx.send(());
            std::thread::sleep(Duration::from_millis(200));
            drop(guards);
        });
        let _ = held_rx.recv();
        let started = std::time::Instant::now();
        assert_eq!(
            store.pending(device, 0, 10).await.ok().map(|c| c.len()),
            Some(0)
        );
        assert!(started.elapsed() >= Duration::from_millis(150));
        let _ = holder.join();
    }
}
