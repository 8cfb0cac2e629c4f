//! Accounts and devices: registration with an invitation.

use estafette_wire::AccountInfo;
use estafette_wire::limits::MAX_DEVICES_PER_ACCOUNT;
use rusqlite::{Connection, OptionalExtension, params};

use crate::store::error::StoreResult;
use crate::store::records::{NewDevice, RegisterRefusal};
use crate::store::sqlite::device_sets::forget_device_sets;
use crate::store::sqlite::prekeys::insert_prekeys;
use crate::store::sqlite::rows::{account_info, devices_of, ms, unms};

/// Spends an invitation on a new device, binding the account key on first use.
pub fn register_tx(
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
