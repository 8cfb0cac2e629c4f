//! The embedded backend: one SQLite file, WAL, `synchronous = FULL`.
//!
//! Every mutation is a job sent to one writer thread, which runs the jobs it
//! finds waiting in one transaction (each in its own savepoint) and commits
//! once: one fsync for many sends. A job's answer leaves only after the commit,
//! so an `Accepted` is durable. Reads use separate connections (WAL readers).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use estafette_wire::limits::MAX_DEVICES_PER_ACCOUNT;
use estafette_wire::{
    AccountInfo, Bundle, DeviceId, GroupRecipient, KemPreKey, OneTimePreKey, PreKeyUpload,
    SignedPreKey, StaleAccount,
};
use futures::FutureExt;
use futures::future::BoxFuture;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

use super::{
    AccountSummary, DeviceRecord, DeviceSummary, GroupSendOutcome, NewDevice, NewGroupSend,
    NewSend, PreKeyStock, QueuedCopy, RegisterRefusal, SendOutcome, Store, StoreError, StoreLimits,
    StoreResult,
};

/// Migrations in order; the file name's number is its schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_accounts_queues.sql"),
    include_str!("../../migrations/sqlite/0003_shared_payloads.sql"),
];

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 512;
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

type Finish = Box<dyn FnOnce(Result<(), &str>) + Send>;
type Job = Box<dyn FnOnce(&Connection, &StoreLimits) -> Finish + Send>;

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
    async fn write<R: Send + 'static>(
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
    async fn read<R: Send + 'static>(
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
    async fn read_now<R: Send + 'static>(
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

thread_local! {
    /// The writer thread's copy of each handle's active devices (`None`: no
    /// active account), so a `Send` does not re-read two accounts and their
    /// devices. Only the writer changes accounts and devices in this process;
    /// it clears the copy when it does, when a commit fails, and when another
    /// process (the `revoke` command) committed to the file (`data_version`).
    static DEVICE_SETS: RefCell<HashMap<String, Option<Vec<DeviceId>>>> =
        RefCell::new(HashMap::new());
    static DATA_VERSION: Cell<i64> = const { Cell::new(-1) };
}

fn forget_device_sets() {
    DEVICE_SETS.with(|sets| sets.borrow_mut().clear());
}

/// The active devices of `handle`, from the writer's copy or the database.
fn active_devices(conn: &Connection, handle: &str) -> StoreResult<Option<Vec<DeviceId>>> {
    if let Some(known) = DEVICE_SETS.with(|sets| sets.borrow().get(handle).cloned()) {
        return Ok(known);
    }
    let devices = match active_account(conn, handle)? {
        Some(account_id) => Some(devices_of(conn, account_id)?),
        None => None,
    };
    DEVICE_SETS.with(|sets| {
        let mut sets = sets.borrow_mut();
        // Bounded: a relay with more active handles re-reads the overflow.
        if sets.len() >= 100_000 {
            sets.clear();
        }
        sets.insert(handle.to_owned(), devices.clone());
    });
    Ok(devices)
}

fn write_loop(conn: Connection, mut rx: mpsc::Receiver<Job>, limits: StoreLimits) {
    while let Some(first) = rx.blocking_recv() {
        let version = conn
            .pragma_query_value(None, "data_version", |r| r.get::<_, i64>(0))
            .unwrap_or(-2);
        if DATA_VERSION.with(|v| v.replace(version)) != version {
            forget_device_sets();
        }
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
            // The jobs did not run; dropping them tells each caller `Interrupted`.
            tracing::error!(%error, "cannot begin a transaction");
            drop(batch);
            continue;
        }
        let finishers: Vec<Finish> = batch.into_iter().map(|job| job(&conn, &limits)).collect();
        let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if let Err(error) = &commit {
            tracing::error!(%error, "commit failed");
            forget_device_sets();
            let _ = conn.execute_batch("ROLLBACK");
        }
        for finish in finishers {
            finish(commit.as_ref().map(|_| ()).map_err(String::as_str));
        }
    }
}

fn savepoint<R>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> StoreResult<R>,
) -> StoreResult<R> {
    conn.execute_batch("SAVEPOINT job")?;
    match f(conn) {
        Ok(value) => {
            conn.execute_batch("RELEASE job")?;
            Ok(value)
        }
        Err(error) => {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Err(error)
        }
    }
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > known {
        return Err(StoreError::TooNew {
            found: current,
            known,
        });
    }
    for (version, sql) in (1i64..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn unms(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn device_id(bytes: Vec<u8>) -> StoreResult<DeviceId> {
    <[u8; 16]>::try_from(bytes)
        .map(DeviceId)
        .map_err(|_| StoreError::Corrupt("device id"))
}

fn array<const N: usize>(bytes: Vec<u8>, what: &'static str) -> StoreResult<[u8; N]> {
    <[u8; N]>::try_from(bytes).map_err(|_| StoreError::Corrupt(what))
}

fn account_info(conn: &Connection, account_id: i64) -> StoreResult<AccountInfo> {
    let (handle, name, key): (String, String, Option<Vec<u8>>) = conn
        .prepare_cached("SELECT handle, name, account_key FROM accounts WHERE id = ?1")?
        .query_row([account_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(AccountInfo {
        handle,
        name,
        account_key: key.unwrap_or_default(),
        devices: devices_of(conn, account_id)?,
    })
}

fn devices_of(conn: &Connection, account_id: i64) -> StoreResult<Vec<DeviceId>> {
    let mut stmt = conn
        .prepare_cached("SELECT device_id FROM devices WHERE account_id = ?1 ORDER BY device_id")?;
    let rows = stmt.query_map([account_id], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|r| device_id(r?)).collect()
}

/// An active, registered account's id.
fn active_account(conn: &Connection, handle: &str) -> StoreResult<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM accounts WHERE handle = ?1 AND revoked_at IS NULL AND account_key IS NOT NULL",
        )?
        .query_row([handle], |r| r.get(0))
        .optional()?)
}

fn stock(conn: &Connection, device: &DeviceId) -> StoreResult<PreKeyStock> {
    let count = |table: &str| -> StoreResult<u32> {
        let n: i64 = conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM {table} WHERE device_id = ?1"
            ))?
            .query_row([&device.0[..]], |r| r.get(0))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    };
    Ok(PreKeyStock {
        one_time: count("one_time_prekeys")?,
        kem_one_time: count("kem_one_time_prekeys")?,
    })
}

fn insert_prekeys(conn: &Connection, device: &DeviceId, upload: &PreKeyUpload) -> StoreResult<()> {
    let id = &device.0[..];
    if let Some(spk) = &upload.signed_prekey {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO signed_prekeys (device_id, id, public_key, signature) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, spk.id, &spk.public_key[..], &spk.signature[..]])?;
    }
    if let Some(kem) = &upload.kem_last_resort {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO kem_last_resort_prekeys (device_id, id, public_key, signature) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, kem.id, &kem.public_key, &kem.signature[..]])?;
    }
    let mut opk = conn.prepare_cached(
        "INSERT OR REPLACE INTO one_time_prekeys (device_id, id, public_key) VALUES (?1, ?2, ?3)",
    )?;
    for key in &upload.one_time {
        opk.execute(params![id, key.id, &key.public_key[..]])?;
    }
    let mut pqopk = conn.prepare_cached(
        "INSERT OR REPLACE INTO kem_one_time_prekeys (device_id, id, public_key, signature) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for key in &upload.kem_one_time {
        pqopk.execute(params![id, key.id, &key.public_key, &key.signature[..]])?;
    }
    Ok(())
}

fn like_prefix(query: &str) -> String {
    let escaped: String = query
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("{escaped}%")
}

fn take_bundle(
    conn: &Connection,
    device: &DeviceId,
    certificate: Vec<u8>,
) -> StoreResult<Option<(Bundle, PreKeyStock)>> {
    let id = &device.0[..];
    let spk: Option<(u32, Vec<u8>, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT id, public_key, signature FROM signed_prekeys WHERE device_id = ?1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((spk_id, spk_pub, spk_sig)) = spk else {
        return Ok(None);
    };
    let kem_one = take_first(conn, "kem_one_time_prekeys", id)?;
    let (kem, kem_one_time) = match kem_one {
        Some(k) => (k, true),
        None => {
            let last: Option<(u32, Vec<u8>, Vec<u8>)> = conn
                .prepare_cached("SELECT id, public_key, signature FROM kem_last_resort_prekeys WHERE device_id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            match last {
                Some(k) => (k, false),
                None => return Ok(None),
            }
        }
    };
    let opk = take_first_opk(conn, id)?;
    let bundle = Bundle {
        certificate,
        signed_prekey: SignedPreKey {
            id: spk_id,
            public_key: array(spk_pub, "signed prekey")?,
            signature: array(spk_sig, "signature")?,
        },
        kem_prekey: KemPreKey {
            id: kem.0,
            public_key: kem.1,
            signature: array(kem.2, "signature")?,
        },
        kem_one_time,
        one_time: opk,
    };
    Ok(Some((bundle, stock(conn, device)?)))
}

/// A stored key: id, public key, signature.
type SignedKeyRow = (u32, Vec<u8>, Vec<u8>);

/// Deletes and returns the lowest-id one-time ML-KEM key (tables WITHOUT ROWID).
fn take_first(conn: &Connection, table: &str, id: &[u8]) -> StoreResult<Option<SignedKeyRow>> {
    let row: Option<SignedKeyRow> = conn
        .prepare_cached(&format!(
            "SELECT id, public_key, signature FROM {table} WHERE device_id = ?1 ORDER BY id LIMIT 1"
        ))?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    if let Some((key_id, _, _)) = &row {
        conn.prepare_cached(&format!(
            "DELETE FROM {table} WHERE device_id = ?1 AND id = ?2"
        ))?
        .execute(params![id, key_id])?;
    }
    Ok(row)
}

fn take_first_opk(conn: &Connection, id: &[u8]) -> StoreResult<Option<OneTimePreKey>> {
    let row: Option<(u32, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT id, public_key FROM one_time_prekeys WHERE device_id = ?1 ORDER BY id LIMIT 1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        None => Ok(None),
        Some((key_id, public_key)) => {
            conn.prepare_cached("DELETE FROM one_time_prekeys WHERE device_id = ?1 AND id = ?2")?
                .execute(params![id, key_id])?;
            Ok(Some(OneTimePreKey {
                id: key_id,
                public_key: array(public_key, "one-time prekey")?,
            }))
        }
    }
}

/// Whether this sender device already had this idempotency id accepted.
fn already_accepted(conn: &Connection, sender: &DeviceId, id: &[u8; 16]) -> StoreResult<bool> {
    let seen: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM sends WHERE sender_device = ?1 AND idempotency_id = ?2")?
        .query_row(params![&sender.0[..], &id[..]], |r| r.get(0))
        .optional()?;
    Ok(seen.is_some())
}

fn record_accepted(
    conn: &Connection,
    sender: &DeviceId,
    id: &[u8; 16],
    now_ms: u64,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO sends (sender_device, idempotency_id, accepted_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![&sender.0[..], &id[..], ms(now_ms)])?;
    Ok(())
}

/// How the addressed devices, per handle, differ from the accounts' current
/// devices. The sender's own account is always checked (its other devices
/// must be addressed), named or not.
fn stale_accounts<'a>(
    conn: &Connection,
    sender_handle: &'a str,
    sender_device: DeviceId,
    mut addressed: BTreeMap<&'a str, BTreeSet<DeviceId>>,
) -> StoreResult<Vec<StaleAccount>> {
    addressed.entry(sender_handle).or_default();
    let mut stale = Vec::new();
    for (handle, devices) in &addressed {
        let current: BTreeSet<DeviceId> = active_devices(conn, handle)?
            .unwrap_or_default()
            .into_iter()
            .filter(|d| *d != sender_device)
            .collect();
        let missing: Vec<DeviceId> = current.difference(devices).copied().collect();
        let extra: Vec<DeviceId> = devices.difference(&current).copied().collect();
        if !missing.is_empty() || !extra.is_empty() {
            stale.push(StaleAccount {
                handle: (*handle).to_owned(),
                missing,
                extra,
            });
        }
    }
    Ok(stale)
}

/// Counts one more payload of `len` bytes in the device's queue if it fits
/// (count and bytes); whether it did. One statement: check and count.
fn take_room(
    conn: &Connection,
    limits: &StoreLimits,
    device: &DeviceId,
    len: usize,
) -> StoreResult<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE devices SET queue_count = queue_count + 1, queue_bytes = queue_bytes + ?2 \
             WHERE device_id = ?1 AND queue_count < ?3 AND queue_bytes + ?2 <= ?4",
        )?
        .execute(params![
            &device.0[..],
            len as i64,
            ms(limits.max_queue_count),
            ms(limits.max_queue_bytes)
        ])?;
    Ok(changed == 1)
}

/// Gives back what [`take_room`] counted.
fn give_room(conn: &Connection, device: &DeviceId, len: usize) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE devices SET queue_count = max(queue_count - 1, 0), queue_bytes = max(queue_bytes - ?2, 0) WHERE device_id = ?1",
    )?
    .execute(params![&device.0[..], len as i64])?;
    Ok(())
}

/// Who sent a payload, and when.
struct Origin<'a> {
    handle: &'a str,
    device: DeviceId,
    now_ms: u64,
}

/// Stores `payload` once with an entry in each device's queue (counted
/// already by [`take_room`]).
fn enqueue(
    conn: &Connection,
    limits: &StoreLimits,
    origin: &Origin<'_>,
    payload: &[u8],
    devices: &[DeviceId],
) -> StoreResult<()> {
    let expires_at = origin.now_ms.saturating_add(limits.retention_ms);
    conn.prepare_cached(
        "INSERT INTO payloads (sender_handle, sender_device, accepted_at, expires_at, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        origin.handle,
        &origin.device.0[..],
        ms(origin.now_ms),
        ms(expires_at),
        payload
    ])?;
    let seq = conn.last_insert_rowid();
    let mut entry =
        conn.prepare_cached("INSERT INTO queue_entries (device_id, seq) VALUES (?1, ?2)")?;
    for device in devices {
        entry.execute(params![&device.0[..], seq])?;
    }
    Ok(())
}

/// Deletes the payloads among `seqs` that no queue entry points at any more.
fn drop_orphan_payloads(conn: &Connection, seqs: &[i64]) -> StoreResult<()> {
    let mut drop = conn.prepare_cached(
        "DELETE FROM payloads WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM queue_entries WHERE seq = ?1)",
    )?;
    for seq in seqs {
        drop.execute([seq])?;
    }
    Ok(())
}

fn send_tx(conn: &Connection, limits: &StoreLimits, send: NewSend) -> StoreResult<SendOutcome> {
    if already_accepted(conn, &send.sender_device, &send.idempotency_id)? {
        return Ok(SendOutcome::Accepted(Vec::new()));
    }
    let mut addressed: BTreeMap<&str, BTreeSet<DeviceId>> = BTreeMap::new();
    for envelope in &send.envelopes {
        addressed
            .entry(envelope.handle.as_str())
            .or_default()
            .insert(envelope.device);
    }
    let stale = stale_accounts(conn, &send.sender_handle, send.sender_device, addressed)?;
    if !stale.is_empty() {
        return Ok(SendOutcome::Stale(stale));
    }
    for (n, envelope) in send.envelopes.iter().enumerate() {
        if !take_room(conn, limits, &envelope.device, envelope.payload.len())? {
            for counted in send.envelopes.iter().take(n) {
                give_room(conn, &counted.device, counted.payload.len())?;
            }
            return Ok(SendOutcome::QueueFull(envelope.handle.clone()));
        }
    }
    let origin = Origin {
        handle: &send.sender_handle,
        device: send.sender_device,
        now_ms: send.now_ms,
    };
    for envelope in &send.envelopes {
        enqueue(conn, limits, &origin, &envelope.payload, &[envelope.device])?;
    }
    record_accepted(conn, &send.sender_device, &send.idempotency_id, send.now_ms)?;
    Ok(SendOutcome::Accepted(
        send.envelopes.iter().map(|e| e.device).collect(),
    ))
}

fn group_send_tx(
    conn: &Connection,
    limits: &StoreLimits,
    send: NewGroupSend,
) -> StoreResult<GroupSendOutcome> {
    if already_accepted(conn, &send.sender_device, &send.idempotency_id)? {
        return Ok(GroupSendOutcome::Accepted {
            queued: Vec::new(),
            queue_full: Vec::new(),
        });
    }
    let addressed = send
        .recipients
        .iter()
        .map(|r| (r.handle.as_str(), r.devices.iter().copied().collect()))
        .collect();
    let stale = stale_accounts(conn, &send.sender_handle, send.sender_device, addressed)?;
    if !stale.is_empty() {
        return Ok(GroupSendOutcome::Stale(stale));
    }
    let mut queued = Vec::new();
    let mut queue_full = Vec::new();
    for recipient in &send.recipients {
        let mut skipped = Vec::new();
        for device in &recipient.devices {
            if take_room(conn, limits, device, send.payload.len())? {
                queued.push(*device);
            } else {
                skipped.push(*device);
            }
        }
        if !skipped.is_empty() {
            queue_full.push(GroupRecipient {
                handle: recipient.handle.clone(),
                devices: skipped,
            });
        }
    }
    if !queued.is_empty() {
        let origin = Origin {
            handle: &send.sender_handle,
            device: send.sender_device,
            now_ms: send.now_ms,
        };
        enqueue(conn, limits, &origin, &send.payload, &queued)?;
    }
    record_accepted(conn, &send.sender_device, &send.idempotency_id, send.now_ms)?;
    Ok(GroupSendOutcome::Accepted { queued, queue_full })
}

/// Deletes each device's entry for its `seq`, and a payload with its last
/// entry. A payload acknowledged by many devices (a group message) is
/// measured and checked for its last entry once; each device's counters are
/// updated once.
fn ack_all_tx(conn: &Connection, acks: Vec<(DeviceId, u64)>) -> StoreResult<u64> {
    let mut lengths: BTreeMap<i64, i64> = BTreeMap::new();
    let mut freed: HashMap<DeviceId, (i64, i64)> = HashMap::new();
    let mut delete =
        conn.prepare_cached("DELETE FROM queue_entries WHERE device_id = ?1 AND seq = ?2")?;
    let mut length = conn.prepare_cached("SELECT length(payload) FROM payloads WHERE id = ?1")?;
    let mut deleted = 0;
    for (device, seq) in acks {
        let seq = ms(seq);
        if delete.execute(params![&device.0[..], seq])? == 0 {
            continue;
        }
        deleted += 1;
        let len = match lengths.get(&seq) {
            Some(len) => *len,
            None => {
                let len: i64 = length
                    .query_row([seq], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0);
                lengths.insert(seq, len);
                len
            }
        };
        let counted = freed.entry(device).or_default();
        counted.0 += 1;
        counted.1 += len;
    }
    drop_orphan_payloads(conn, &lengths.into_keys().collect::<Vec<_>>())?;
    let mut give = conn.prepare_cached(
        "UPDATE devices SET queue_count = max(queue_count - ?2, 0), queue_bytes = max(queue_bytes - ?3, 0) WHERE device_id = ?1",
    )?;
    for (device, (count, bytes)) in freed {
        give.execute(params![&device.0[..], count, bytes])?;
    }
    Ok(deleted)
}

fn register_tx(
    conn: &Connection,
    new: NewDevice,
) -> StoreResult<Result<AccountInfo, RegisterRefusal>> {
    forget_device_sets();
    let invite: Option<(i64, i64, Option<i64>)> = conn
        .query_row(
            "SELECT account_id, expires_at, used_at FROM invites WHERE token_hash = ?1",
            [&new.token_hash[..]],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((account_id, expires_at, used_at)) = invite else {
        return Ok(Err(RegisterRefusal::InvalidToken));
    };
    if used_at.is_some() {
        return Ok(Err(RegisterRefusal::TokenUsed));
    }
    if unms(expires_at) < new.now_ms {
        return Ok(Err(RegisterRefusal::TokenExpired));
    }
    let (key, revoked): (Option<Vec<u8>>, Option<i64>) = conn.query_row(
        "SELECT account_key, revoked_at FROM accounts WHERE id = ?1",
        [account_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if revoked.is_some() {
        return Ok(Err(RegisterRefusal::Revoked));
    }
    match key {
        Some(key) if key != new.account_key => return Ok(Err(RegisterRefusal::HandleTaken)),
        Some(_) => {}
        None => {
            let other: Option<i64> = conn
                .query_row(
                    "SELECT id FROM accounts WHERE account_key = ?1",
                    [&new.account_key[..]],
                    |r| r.get(0),
                )
                .optional()?;
            if other.is_some() {
                return Ok(Err(RegisterRefusal::HandleTaken));
            }
            conn.execute(
                "UPDATE accounts SET account_key = ?2 WHERE id = ?1",
                params![account_id, &new.account_key[..]],
            )?;
        }
    }
    let devices = devices_of(conn, account_id)?;
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM devices WHERE device_id = ?1",
            [&new.device_id.0[..]],
            |r| r.get(0),
        )
        .optional()?;
    if devices.len() >= MAX_DEVICES_PER_ACCOUNT || exists.is_some() {
        return Ok(Err(RegisterRefusal::TooManyDevices));
    }
    conn.execute(
        "UPDATE invites SET used_at = ?2 WHERE token_hash = ?1",
        params![&new.token_hash[..], ms(new.now_ms)],
    )?;
    conn.execute(
        "INSERT INTO devices (device_id, account_id, certificate, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![&new.device_id.0[..], account_id, &new.certificate, ms(new.now_ms)],
    )?;
    insert_prekeys(conn, &new.device_id, &new.prekeys)?;
    Ok(Ok(account_info(conn, account_id)?))
}

impl Store for SqliteStore {
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .boxed()
    }

    fn create_invite(
        &self,
        handle: String,
        name: String,
        token_hash: [u8; 32],
        now_ms: u64,
        expires_at_ms: u64,
    ) -> BoxFuture<'_, StoreResult<Result<(), RegisterRefusal>>> {
        self.write(move |conn, _| {
            let existing: Option<(i64, Option<Vec<u8>>, Option<i64>)> = conn
                .query_row("SELECT id, account_key, revoked_at FROM accounts WHERE handle = ?1", [&handle], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            let account_id = match existing {
                Some((_, _, Some(_))) => return Ok(Err(RegisterRefusal::Revoked)),
                Some((id, None, None)) => {
                    conn.execute("UPDATE accounts SET name = ?2 WHERE id = ?1", params![id, &name])?;
                    id
                }
                Some((id, Some(_), None)) => id,
                None => {
                    conn.execute(
                        "INSERT INTO accounts (handle, name, created_at) VALUES (?1, ?2, ?3)",
                        params![&handle, &name, ms(now_ms)],
                    )?;
                    conn.last_insert_rowid()
                }
            };
            conn.execute(
                "INSERT INTO invites (token_hash, account_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![&token_hash[..], account_id, ms(now_ms), ms(expires_at_ms)],
            )?;
            Ok(Ok(()))
        })
        .boxed()
    }

    fn list_accounts(&self) -> BoxFuture<'_, StoreResult<Vec<AccountSummary>>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT handle, name, account_key IS NOT NULL, revoked_at, \
                 (SELECT count(*) FROM devices d WHERE d.account_id = a.id) FROM accounts a ORDER BY handle",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(AccountSummary {
                    handle: r.get(0)?,
                    name: r.get(1)?,
                    registered: r.get(2)?,
                    revoked_at_ms: r.get::<_, Option<i64>>(3)?.map(unms),
                    devices: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .boxed()
    }

    fn list_devices(
        &self,
        handle: String,
    ) -> BoxFuture<'_, StoreResult<Option<Vec<DeviceSummary>>>> {
        self.read(move |conn| {
            let account: Option<i64> =
                conn.query_row("SELECT id FROM accounts WHERE handle = ?1", [&handle], |r| r.get(0)).optional()?;
            let Some(account_id) = account else { return Ok(None) };
            let mut stmt = conn.prepare(
                "SELECT device_id, created_at, queue_count FROM devices WHERE account_id = ?1 ORDER BY created_at",
            )?;
            let rows: Vec<(Vec<u8>, i64, i64)> =
                stmt.query_map([account_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
            let mut out = Vec::new();
            for (id, created, queued) in rows {
                let device = device_id(id)?;
                let stock = stock(conn, &device)?;
                out.push(DeviceSummary {
                    device_id: device,
                    created_at_ms: unms(created),
                    queued: unms(queued),
                    one_time_prekeys: stock.one_time,
                    kem_one_time_prekeys: stock.kem_one_time,
                });
            }
            Ok(Some(out))
        })
        .boxed()
    }

    fn revoke(
        &self,
        handle: String,
        now_ms: u64,
    ) -> BoxFuture<'_, StoreResult<Option<Vec<DeviceId>>>> {
        self.write(move |conn, _| {
            forget_device_sets();
            let account: Option<i64> = conn
                .query_row(
                    "SELECT id FROM accounts WHERE handle = ?1",
                    [&handle],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(account_id) = account else {
                return Ok(None);
            };
            conn.execute(
                "UPDATE accounts SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                params![account_id, ms(now_ms)],
            )?;
            conn.execute(
                "DELETE FROM invites WHERE account_id = ?1 AND used_at IS NULL",
                [account_id],
            )?;
            let devices = devices_of(conn, account_id)?;
            for device in &devices {
                let id = &device.0[..];
                let seqs: Vec<i64> = conn
                    .prepare_cached("DELETE FROM queue_entries WHERE device_id = ?1 RETURNING seq")?
                    .query_map([id], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                drop_orphan_payloads(conn, &seqs)?;
                for table in [
                    "signed_prekeys",
                    "kem_last_resort_prekeys",
                    "one_time_prekeys",
                    "kem_one_time_prekeys",
                ] {
                    conn.execute(&format!("DELETE FROM {table} WHERE device_id = ?1"), [id])?;
                }
                conn.execute(
                    "UPDATE devices SET queue_count = 0, queue_bytes = 0 WHERE device_id = ?1",
                    [id],
                )?;
            }
            Ok(Some(devices))
        })
        .boxed()
    }

    fn revoked_devices_since(&self, since_ms: u64) -> BoxFuture<'_, StoreResult<Vec<DeviceId>>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT d.device_id FROM devices d JOIN accounts a ON a.id = d.account_id WHERE a.revoked_at >= ?1",
            )?;
            let rows = stmt.query_map([ms(since_ms)], |r| r.get::<_, Vec<u8>>(0))?;
            rows.map(|r| device_id(r?)).collect()
        })
        .boxed()
    }

    fn register(
        &self,
        device: NewDevice,
    ) -> BoxFuture<'_, StoreResult<Result<AccountInfo, RegisterRefusal>>> {
        self.write(move |conn, _| register_tx(conn, device)).boxed()
    }

    fn device(&self, device: DeviceId) -> BoxFuture<'_, StoreResult<Option<DeviceRecord>>> {
        self.read(move |conn| {
            let row: Option<(Vec<u8>, i64, Option<i64>)> = conn
                .prepare_cached(
                    "SELECT d.certificate, d.account_id, a.revoked_at FROM devices d JOIN accounts a ON a.id = d.account_id WHERE d.device_id = ?1",
                )?
                .query_row([&device.0[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((certificate, account_id, revoked)) = row else { return Ok(None) };
            Ok(Some(DeviceRecord { certificate, account: account_info(conn, account_id)?, revoked: revoked.is_some() }))
        })
        .boxed()
    }

    fn account(&self, handle: String) -> BoxFuture<'_, StoreResult<Option<AccountInfo>>> {
        self.read(move |conn| match active_account(conn, &handle)? {
            Some(id) => Ok(Some(account_info(conn, id)?)),
            None => Ok(None),
        })
        .boxed()
    }

    fn search(&self, query: String, limit: u32) -> BoxFuture<'_, StoreResult<Vec<AccountInfo>>> {
        self.read(move |conn| {
            let pattern = like_prefix(&query);
            let mut stmt = conn.prepare_cached(
                "SELECT handle, name, account_key FROM accounts \
                 WHERE revoked_at IS NULL AND account_key IS NOT NULL \
                 AND (handle LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\' OR name LIKE '% ' || ?1 ESCAPE '\\') \
                 ORDER BY name COLLATE NOCASE, handle LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![pattern, limit], |r| {
                Ok(AccountInfo {
                    handle: r.get(0)?,
                    name: r.get(1)?,
                    account_key: r.get::<_, Option<Vec<u8>>>(2)?.unwrap_or_default(),
                    devices: Vec::new(),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .boxed()
    }

    fn upload_prekeys(
        &self,
        device: DeviceId,
        upload: PreKeyUpload,
    ) -> BoxFuture<'_, StoreResult<Option<PreKeyStock>>> {
        async move {
            let result = self
                .write(move |conn, limits| {
                    insert_prekeys(conn, &device, &upload)?;
                    let stock = stock(conn, &device)?;
                    if stock.one_time > limits.max_one_time_prekeys
                        || stock.kem_one_time > limits.max_kem_one_time_prekeys
                    {
                        return Err(StoreError::Refused);
                    }
                    Ok(stock)
                })
                .await;
            match result {
                Ok(stock) => Ok(Some(stock)),
                Err(StoreError::Refused) => Ok(None),
                Err(e) => Err(e),
            }
        }
        .boxed()
    }

    fn prekey_stock(&self, device: DeviceId) -> BoxFuture<'_, StoreResult<PreKeyStock>> {
        self.read(move |conn| stock(conn, &device)).boxed()
    }

    fn take_bundles(
        &self,
        handle: String,
    ) -> BoxFuture<'_, StoreResult<Option<(AccountInfo, Vec<(Bundle, PreKeyStock)>)>>> {
        self.write(move |conn, _| {
            let Some(account_id) = active_account(conn, &handle)? else {
                return Ok(None);
            };
            let info = account_info(conn, account_id)?;
            let mut bundles = Vec::new();
            for device in &info.devices {
                let certificate: Vec<u8> = conn
                    .prepare_cached("SELECT certificate FROM devices WHERE device_id = ?1")?
                    .query_row([&device.0[..]], |r| r.get(0))?;
                if let Some(bundle) = take_bundle(conn, device, certificate)? {
                    bundles.push(bundle);
                }
            }
            Ok(Some((info, bundles)))
        })
        .boxed()
    }

    fn send(&self, send: NewSend) -> BoxFuture<'_, StoreResult<SendOutcome>> {
        self.write(move |conn, limits| send_tx(conn, limits, send))
            .boxed()
    }

    fn group_send(&self, send: NewGroupSend) -> BoxFuture<'_, StoreResult<GroupSendOutcome>> {
        self.write(move |conn, limits| group_send_tx(conn, limits, send))
            .boxed()
    }

    fn pending(
        &self,
        device: DeviceId,
        after: u64,
        limit: u32,
    ) -> BoxFuture<'_, StoreResult<Vec<QueuedCopy>>> {
        self.read_now(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT e.seq, p.sender_handle, p.sender_device, p.accepted_at, p.payload \
                 FROM queue_entries e JOIN payloads p ON p.id = e.seq \
                 WHERE e.device_id = ?1 AND e.seq > ?2 ORDER BY e.seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![&device.0[..], ms(after), limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                ))
            })?;
            rows.map(|row| {
                let (seq, sender, sender_device, accepted_at, payload) = row?;
                Ok(QueuedCopy {
                    seq: unms(seq),
                    sender,
                    sender_device: device_id(sender_device)?,
                    accepted_at_ms: unms(accepted_at),
                    payload,
                })
            })
            .collect()
        })
        .boxed()
    }

    fn ack(&self, device: DeviceId, seq: u64) -> BoxFuture<'_, StoreResult<bool>> {
        self.write(move |conn, _| Ok(ack_all_tx(conn, vec![(device, seq)])? == 1))
            .boxed()
    }

    fn ack_all(&self, acks: Vec<(DeviceId, u64)>) -> BoxFuture<'_, StoreResult<u64>> {
        self.write(move |conn, _| ack_all_tx(conn, acks)).boxed()
    }

    fn expire(&self, now_ms: u64) -> BoxFuture<'_, StoreResult<u64>> {
        self.write(move |conn, limits| {
            let mut stmt = conn.prepare_cached(
                "SELECT e.device_id, count(*), sum(length(p.payload)) FROM payloads p \
                 JOIN queue_entries e ON e.seq = p.id WHERE p.expires_at < ?1 GROUP BY e.device_id",
            )?;
            let rows: Vec<(Vec<u8>, i64, i64)> =
                stmt.query_map([ms(now_ms)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
            let mut total = 0;
            for (device, count, bytes) in rows {
                conn.execute(
                    "UPDATE devices SET queue_count = max(queue_count - ?2, 0), queue_bytes = max(queue_bytes - ?3, 0) WHERE device_id = ?1",
                    params![device, count, bytes],
                )?;
                total += unms(count);
            }
            conn.execute(
                "DELETE FROM queue_entries WHERE seq IN (SELECT id FROM payloads WHERE expires_at < ?1)",
                [ms(now_ms)],
            )?;
            conn.execute("DELETE FROM payloads WHERE expires_at < ?1", [ms(now_ms)])?;
            conn.execute("DELETE FROM sends WHERE accepted_at < ?1", [ms(now_ms.saturating_sub(limits.retention_ms))])?;
            Ok(total)
        })
        .boxed()
    }

    fn payloads_total(&self) -> BoxFuture<'_, StoreResult<u64>> {
        self.read(|conn| {
            let n: i64 = conn.query_row("SELECT count(*) FROM payloads", [], |r| r.get(0))?;
            Ok(unms(n))
        })
        .boxed()
    }

    fn queued_total(&self) -> BoxFuture<'_, StoreResult<u64>> {
        self.read(|conn| {
            let n: i64 = conn.query_row(
                "SELECT coalesce(sum(queue_count), 0) FROM devices",
                [],
                |r| r.get(0),
            )?;
            Ok(unms(n))
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
