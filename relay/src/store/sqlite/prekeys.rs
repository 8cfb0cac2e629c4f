//! Prekeys at rest: stored as uploaded, taken one of each kind per bundle.

use estafette_wire::{Bundle, DeviceId, KemPreKey, OneTimePreKey, PreKeyUpload, SignedPreKey};
use rusqlite::{Connection, OptionalExtension, params};

use crate::store::error::StoreResult;
use crate::store::records::PreKeyStock;
use crate::store::sqlite::rows::{array, stock};

/// Stores an upload's keys (a signed or last-resort key replaces the current one).
pub fn insert_prekeys(
    conn: &Connection,
    device: &DeviceId,
    upload: &PreKeyUpload,
) -> StoreResult<()> {
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

/// A device's bundle, taking one one-time key of each kind if any is left;
/// `None` without a signed prekey or an ML-KEM key.
pub fn take_bundle(
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
