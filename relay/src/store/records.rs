//! What goes in and out of the store: accounts, devices, prekey stocks,
//! sends and their outcomes, queued copies, limits.

use estafette_wire::{AccountInfo, DeviceId, Envelope, GroupRecipient, PreKeyUpload, StaleAccount};

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
