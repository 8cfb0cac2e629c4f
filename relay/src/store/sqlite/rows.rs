//! Conversions between rows and values, and the small queries every
//! other module shares (an account's devices, a device's prekey stock).

use estafette_wire::{AccountInfo, DeviceId};
use rusqlite::{Connection, OptionalExtension};

use crate::store::error::{StoreError, StoreResult};
use crate::store::records::PreKeyStock;

/// A time or count as SQLite stores it (saturating).
pub fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored time or count back (negative reads as 0).
pub fn unms(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A stored device id.
pub fn device_id(bytes: Vec<u8>) -> StoreResult<DeviceId> {
    <[u8; 16]>::try_from(bytes)
        .map(DeviceId)
        .map_err(|_| StoreError::Corrupt("device id"))
}

/// A stored fixed-size value (`what` names it in the error).
pub fn array<const N: usize>(bytes: Vec<u8>, what: &'static str) -> StoreResult<[u8; N]> {
    <[u8; N]>::try_from(bytes).map_err(|_| StoreError::Corrupt(what))
}

/// An account as the wire describes it, with its devices.
pub fn account_info(conn: &Connection, account_id: i64) -> StoreResult<AccountInfo> {
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

/// An account's devices, in id order.
pub fn devices_of(conn: &Connection, account_id: i64) -> StoreResult<Vec<DeviceId>> {
    let mut stmt = conn
        .prepare_cached("SELECT device_id FROM devices WHERE account_id = ?1 ORDER BY device_id")?;
    let rows = stmt.query_map([account_id], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|r| device_id(r?)).collect()
}

/// An active, registered account's id.
pub fn active_account(conn: &Connection, handle: &str) -> StoreResult<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM accounts WHERE handle = ?1 AND revoked_at IS NULL AND account_key IS NOT NULL",
        )?
        .query_row([handle], |r| r.get(0))
        .optional()?)
}

/// A device's one-time prekeys of each kind.
pub fn stock(conn: &Connection, device: &DeviceId) -> StoreResult<PreKeyStock> {
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

/// A `LIKE` pattern matching what starts with `query`, wildcards literal.
pub fn like_prefix(query: &str) -> String {
    let escaped: String = query
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("{escaped}%")
}
