//! Durable state of the relay behind the [`Store`] trait. One module per
//! backend; SQLite is embedded. `tests/store_suite.rs` runs the same behaviour
//! tests against every backend.

mod sqlite;

pub use sqlite::SqliteStore;

use estafette_wire::{
    AccountInfo, Bundle, DeviceId, Envelope, GroupRecipient, PreKeyUpload, StaleAccount,
};
use futures::future::BoxFuture;
use thiserror::Error;

/// Why the store could not do what was asked.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The data directory could not be created or opened.
    #[error("The data directory {path} cannot be used: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The database refused an operation.
    #[error("The database failed: {0}")]
    Database(#[from] rusqlite::Error),
    /// The database was written by a newer relay.
    #[error(
        "The database has schema version {found}, newer than the {known} this relay knows; upgrade the relay."
    )]
    TooNew {
        /// Version found in the file.
        found: i64,
        /// Latest version this build knows.
        known: i64,
    },
    /// The store's worker stopped (the relay is shutting down).
    #[error("The store is shutting down.")]
    Interrupted,
    /// The transaction holding this operation failed to commit.
    #[error("The database could not commit: {0}")]
    Commit(String),
    /// The operation was refused by a limit and rolled back (internal).
    #[error("The operation exceeds a limit and was rolled back.")]
    Refused,
    /// A value read back from the database is not what was written.
    #[error("The database holds an invalid {0}.")]
    Corrupt(&'static str),
}

/// An account as the administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    /// Handle.
    pub handle: String,
    /// Display name.
    pub name: String,
    /// Whether the account has registered (bound an identity key).
    pub registered: bool,
    /// Revocation time, if revoked.
    pub revoked_at_ms: Option<u64>,
    /// Number of devices.
    pub devices: u32,
}

/// A device as the administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    /// Device id.
    pub device_id: DeviceId,
    /// Registration time.
    pub created_at_ms: u64,
    /// Copies waiting in its queue.
    pub queued: u64,
    /// One-time X25519 prekeys held.
    pub one_time_prekeys: u32,
    /// One-time ML-KEM prekeys held.
    pub kem_one_time_prekeys: u32,
}

/// A registered device, for authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// The certificate it registered with.
    pub certificate: Vec<u8>,
    /// Its account.
    pub account: AccountInfo,
    /// Whether the account is revoked.
    pub revoked: bool,
}

/// One-time prekeys a device still has on the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PreKeyStock {
    /// One-time X25519 prekeys.
    pub one_time: u32,
    /// One-time ML-KEM prekeys.
    pub kem_one_time: u32,
}

/// Limits the store enforces.
#[derive(Debug, Clone, Copy)]
pub struct StoreLimits {
    /// One-time X25519 prekeys kept per device.
    pub max_one_time_prekeys: u32,
    /// One-time ML-KEM prekeys kept per device.
    pub max_kem_one_time_prekeys: u32,
    /// Copies queued per device.
    pub max_queue_count: u64,
    /// Bytes queued per device.
    pub max_queue_bytes: u64,
    /// How long a copy waits before it expires, in ms.
    pub retention_ms: u64,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            max_one_time_prekeys: 200,
            max_kem_one_time_prekeys: 200,
            max_queue_count: 10_000,
            max_queue_bytes: 100 * 1024 * 1024,
            retention_ms: 30 * 24 * 3600 * 1000,
        }
    }
}

/// A registration the session has verified cryptographically.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// SHA-256 of the invitation token.
    pub token_hash: [u8; 32],
    /// The account identity key from the certificate.
    pub account_key: [u8; 32],
    /// The device id from the certificate.
    pub device_id: DeviceId,
    /// The certificate.
    pub certificate: Vec<u8>,
    /// Verified prekeys (signed prekey and last-resort ML-KEM key present).
    pub prekeys: PreKeyUpload,
    /// Now, in ms.
    pub now_ms: u64,
}

/// Why a registration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterRefusal {
    /// No invitation with this token.
    InvalidToken,
    /// Already used.
    TokenUsed,
    /// Expired.
    TokenExpired,
    /// The handle is bound to another identity key, or the key to another handle.
    HandleTaken,
    /// The account is revoked.
    Revoked,
    /// The account has too many devices, or the device id exists.
    TooManyDevices,
}

/// The outcome of a `Send`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Stored (or stored before, for a repeated id); the devices to wake.
    Accepted(Vec<DeviceId>),
    /// The addressed devices differ from the accounts' current devices.
    Stale(Vec<StaleAccount>),
    /// This account's queue (one of its devices) is full.
    QueueFull(String),
}

/// A `Send` from an authenticated device.
#[derive(Debug, Clone)]
pub struct NewSend {
    /// Sender account handle.
    pub sender_handle: String,
    /// Sender device.
    pub sender_device: DeviceId,
    /// Client idempotency id.
    pub idempotency_id: [u8; 16],
    /// The copies.
    pub envelopes: Vec<Envelope>,
    /// Now, in ms.
    pub now_ms: u64,
}

/// A `GroupSend` from an authenticated device: one payload for many devices.
#[derive(Debug, Clone)]
pub struct NewGroupSend {
    /// Sender account handle.
    pub sender_handle: String,
    /// Sender device.
    pub sender_device: DeviceId,
    /// Client idempotency id (the same space as [`NewSend`]'s).
    pub idempotency_id: [u8; 16],
    /// The addressed devices, per account (distinct handles and devices).
    pub recipients: Vec<GroupRecipient>,
    /// The ciphertext, stored once.
    pub payload: Vec<u8>,
    /// Now, in ms.
    pub now_ms: u64,
}

/// The outcome of a `GroupSend`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupSendOutcome {
    /// Stored for `queued` (to wake); `queue_full` lists the devices skipped
    /// because their queue was full. Both empty for a repeated id.
    Accepted {
        /// Devices that got an entry.
        queued: Vec<DeviceId>,
        /// Devices skipped, per account.
        queue_full: Vec<GroupRecipient>,
    },
    /// The addressed devices differ from the accounts' current devices; nothing stored.
    Stale(Vec<StaleAccount>),
}

/// A queued copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedCopy {
    /// Delivery id (queue sequence).
    pub seq: u64,
    /// Sender handle.
    pub sender: String,
    /// Sender device.
    pub sender_device: DeviceId,
    /// Acceptance time.
    pub accepted_at_ms: u64,
    /// Ciphertext.
    pub payload: Vec<u8>,
}

/// Result type of the store.
pub type StoreResult<T> = Result<T, StoreError>;

/// Durable state of the relay. Every method is atomic.
pub trait Store: Send + Sync + 'static {
    /// Checks that the backend answers.
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>>;
    /// Creates the account if new (or renames it if unregistered) and an invitation for it.
    fn create_invite(
        &self,
        handle: String,
        name: String,
        token_hash: [u8; 32],
        now_ms: u64,
        expires_at_ms: u64,
    ) -> BoxFuture<'_, StoreResult<Result<(), RegisterRefusal>>>;
    /// Every account, sorted by handle.
    fn list_accounts(&self) -> BoxFuture<'_, StoreResult<Vec<AccountSummary>>>;
    /// The devices of an account, or `None` if no such account.
    fn list_devices(
        &self,
        handle: String,
    ) -> BoxFuture<'_, StoreResult<Option<Vec<DeviceSummary>>>>;
    /// Revokes an account: no more login, queues and prekeys dropped. Its device ids, or `None`.
    fn revoke(
        &self,
        handle: String,
        now_ms: u64,
    ) -> BoxFuture<'_, StoreResult<Option<Vec<DeviceId>>>>;
    /// Devices of accounts revoked at or after `since_ms`.
    fn revoked_devices_since(&self, since_ms: u64) -> BoxFuture<'_, StoreResult<Vec<DeviceId>>>;
    /// Consumes an invitation and registers a device.
    fn register(
        &self,
        device: NewDevice,
    ) -> BoxFuture<'_, StoreResult<Result<AccountInfo, RegisterRefusal>>>;
    /// A device, for authentication.
    fn device(&self, device_id: DeviceId) -> BoxFuture<'_, StoreResult<Option<DeviceRecord>>>;
    /// An active account by exact handle.
    fn account(&self, handle: String) -> BoxFuture<'_, StoreResult<Option<AccountInfo>>>;
    /// Active registered accounts whose handle or name starts with `query` (case-insensitive).
    fn search(&self, query: String, limit: u32) -> BoxFuture<'_, StoreResult<Vec<AccountInfo>>>;
    /// Stores verified prekeys; `None` if the device would exceed a limit.
    fn upload_prekeys(
        &self,
        device_id: DeviceId,
        upload: PreKeyUpload,
    ) -> BoxFuture<'_, StoreResult<Option<PreKeyStock>>>;
    /// The stock of one-time prekeys of a device.
    fn prekey_stock(&self, device_id: DeviceId) -> BoxFuture<'_, StoreResult<PreKeyStock>>;
    /// One bundle per device of an active account, consuming one one-time key of
    /// each kind per device; with the owner devices' remaining stock.
    #[allow(clippy::type_complexity)]
    fn take_bundles(
        &self,
        handle: String,
    ) -> BoxFuture<'_, StoreResult<Option<(AccountInfo, Vec<(Bundle, PreKeyStock)>)>>>;
    /// Stores a send atomically, after checking device sets and caps.
    fn send(&self, send: NewSend) -> BoxFuture<'_, StoreResult<SendOutcome>>;
    /// Stores one payload with an entry per addressed device atomically, after
    /// checking device sets; devices whose queue is full are skipped.
    fn group_send(&self, send: NewGroupSend) -> BoxFuture<'_, StoreResult<GroupSendOutcome>>;
    /// Up to `limit` copies for a device with `seq > after`, in order.
    fn pending(
        &self,
        device_id: DeviceId,
        after: u64,
        limit: u32,
    ) -> BoxFuture<'_, StoreResult<Vec<QueuedCopy>>>;
    /// Deletes a delivered copy (its payload with the last one); `false` if it was not there.
    fn ack(&self, device_id: DeviceId, seq: u64) -> BoxFuture<'_, StoreResult<bool>>;
    /// Deletes delivered copies, atomically; the number that were there.
    fn ack_all(&self, acks: Vec<(DeviceId, u64)>) -> BoxFuture<'_, StoreResult<u64>>;
    /// Deletes expired copies and idempotency records; the number of copies deleted.
    fn expire(&self, now_ms: u64) -> BoxFuture<'_, StoreResult<u64>>;
    /// Copies queued in all, for the metric.
    fn queued_total(&self) -> BoxFuture<'_, StoreResult<u64>>;
    /// Distinct payloads stored (a group message queued for many devices is one).
    fn payloads_total(&self) -> BoxFuture<'_, StoreResult<u64>>;
}
