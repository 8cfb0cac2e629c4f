//! Where the client keeps its state: a small key-value interface over
//! IndexedDB in the browser ([`IndexedDbStore`]) and memory natively
//! ([`MemoryStore`]), and the [`Vault`] that seals every record holding keys,
//! session state or content (PROTOCOL.md section 8).
//!
//! Keys are bytes, ordered bytewise (IndexedDB orders binary keys the same way),
//! so related records share a prefix and scan in order.

#[cfg(target_arch = "wasm32")]
mod indexed_db;
mod memory;
mod vault;

use std::future::Future;

#[cfg(target_arch = "wasm32")]
pub use indexed_db::{IndexedDbStore, database_exists, database_names};
pub use memory::MemoryStore;
use thiserror::Error;
pub use vault::{Unreadable, Vault};

/// Version of the schema: object stores are only ever added (rexie deletes
/// stores not declared at upgrade, so every version declares them all).
pub const SCHEMA_VERSION: u32 = 2;

/// An object store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Unsealed facts: the wrapped storage key, the account handle.
    Meta,
    /// Sealed: identity keys, prekeys.
    Account,
    /// Sealed: Double Ratchet sessions, per contact device.
    Sessions,
    /// Sealed: contacts and their trusted identity keys.
    Contacts,
    /// Sealed: conversations (unread counts, last message).
    Conversations,
    /// Sealed: messages, keyed by conversation then time.
    Messages,
    /// Sealed: messages stored before they are sent.
    Outbox,
    /// Sealed: groups (state and changes, member devices, sender chains);
    /// added in schema version 2.
    Groups,
}

impl Table {
    /// Every table, as declared at each upgrade.
    pub const ALL: [Table; 8] = [
        Table::Meta,
        Table::Account,
        Table::Sessions,
        Table::Contacts,
        Table::Conversations,
        Table::Messages,
        Table::Outbox,
        Table::Groups,
    ];

    /// The object store's name (also the sealing AAD's store name).
    pub fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Account => "account",
            Table::Sessions => "sessions",
            Table::Contacts => "contacts",
            Table::Conversations => "conversations",
            Table::Messages => "messages",
            Table::Outbox => "outbox",
            Table::Groups => "groups",
        }
    }
}

/// A change, applied with others atomically by [`RecordStore::write`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Insert or replace.
    Put {
        /// Table.
        table: Table,
        /// Key.
        key: Vec<u8>,
        /// Value.
        value: Vec<u8>,
    },
    /// Remove (absent is fine).
    Delete {
        /// Table.
        table: Table,
        /// Key.
        key: Vec<u8>,
    },
}

/// Which records a scan returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Keys starting with these bytes.
    pub prefix: Vec<u8>,
    /// At most this many.
    pub limit: Option<u32>,
    /// Highest keys first.
    pub reverse: bool,
}

/// Why the store failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The browser's database refused or failed an operation.
    #[error("The browser database failed: {0}")]
    Backend(String),
    /// A stored value is not of the expected type.
    #[error("The record {table}/{key} is not a byte string.")]
    NotBytes {
        /// Table name.
        table: &'static str,
        /// Key, hex.
        key: String,
    },
    /// The vault is locked: no storage key in memory.
    #[error("The store is locked.")]
    Locked,
    /// A record could not be sealed.
    #[error("A record could not be sealed: {0}")]
    Seal(String),
    /// No account is set up in this store.
    #[error("No account is stored in this browser.")]
    NoAccount,
    /// The passphrase does not unwrap the storage key.
    #[error("The passphrase is wrong.")]
    WrongPassphrase,
    /// A sealed record does not open (tampered, corrupted, or moved).
    #[error("The record {table}/{key} cannot be opened; it is left as it is.")]
    Unreadable {
        /// Table name.
        table: &'static str,
        /// Key, hex.
        key: String,
    },
}

/// Bytes as lowercase hex, for error messages (keys only, never values).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The smallest key greater than every key starting with `prefix`, if any.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A stored record: key and value.
pub type Record = (Vec<u8>, Vec<u8>);

/// A key-value store with atomic batches. Futures are not `Send`: in the
/// browser everything runs on one thread.
pub trait RecordStore {
    /// The value at `key`.
    fn get(
        &self,
        table: Table,
        key: &[u8],
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>>;
    /// The values at `keys`, in order, read together (one transaction in
    /// the browser).
    fn get_many(
        &self,
        table: Table,
        keys: &[Vec<u8>],
    ) -> impl Future<Output = Result<Vec<Option<Vec<u8>>>, StoreError>> {
        async move {
            let mut values = Vec::with_capacity(keys.len());
            for key in keys {
                values.push(self.get(table, key).await?);
            }
            Ok(values)
        }
    }
    /// Records matching `scan`, in key order (or reverse).
    fn scan(
        &self,
        table: Table,
        scan: Scan,
    ) -> impl Future<Output = Result<Vec<Record>, StoreError>>;
    /// Applies every write, or none.
    fn write(&self, writes: Vec<Write>) -> impl Future<Output = Result<(), StoreError>>;
    /// Deletes every record of this store (and, in the browser, the database).
    fn erase(&self) -> impl Future<Output = Result<(), StoreError>>;
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_is_the_next_key_after_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(&[]), None);
    }
}
