//! The writer thread's copy of each handle's active devices.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use estafette_wire::DeviceId;
use rusqlite::Connection;

use crate::store::error::StoreResult;
use crate::store::sqlite::rows::{active_account, devices_of};

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

/// Forgets the copy: accounts or devices changed.
pub fn forget_device_sets() {
    DEVICE_SETS.with(|sets| sets.borrow_mut().clear());
}

/// The active devices of `handle`, from the writer's copy or the database.
pub fn active_devices(conn: &Connection, handle: &str) -> StoreResult<Option<Vec<DeviceId>>> {
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

/// Forgets the copy if another connection committed since the last batch.
pub fn forget_if_changed(conn: &Connection) {
    let version = conn
        .pragma_query_value(None, "data_version", |r| r.get::<_, i64>(0))
        .unwrap_or(-2);
    if DATA_VERSION.with(|v| v.replace(version)) != version {
        forget_device_sets();
    }
}
