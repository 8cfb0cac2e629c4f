//! Durable state of the relay behind the [`Store`] trait. One module per
//! backend; SQLite is embedded. `tests/store_suite.rs` runs the same behaviour
//! tests against every backend.

mod error;
mod records;
mod sqlite;
mod traits;

pub use error::{StoreError, StoreResult};
pub use records::{
    AccountSummary, DeviceRecord, DeviceSummary, GroupSendOutcome, NewDevice, NewGroupSend,
    NewSend, PreKeyStock, QueuedCopy, RegisterRefusal, SendOutcome, StoreLimits,
};
pub use sqlite::SqliteStore;
pub use traits::Store;
