//! The store's contract: what every backend does, each method atomic.

use estafette_wire::{AccountInfo, Bundle, DeviceId, PreKeyUpload};
use futures::future::BoxFuture;

use crate::store::error::StoreResult;
use crate::store::records::{
    AccountSummary, DeviceRecord, DeviceSummary, GroupSendOutcome, NewDevice, NewGroupSend,
    NewSend, PreKeyStock, QueuedCopy, RegisterRefusal, SendOutcome,
};

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
