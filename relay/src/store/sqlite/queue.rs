//! Device queues: sends checked against current devices and queue caps,
//! payloads stored once with an entry per device, acks deleting entries
//! and a payload with its last one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use estafette_wire::{DeviceId, GroupRecipient, StaleAccount};
use rusqlite::{Connection, OptionalExtension, params};

use crate::store::error::StoreResult;
use crate::store::records::{GroupSendOutcome, NewGroupSend, NewSend, SendOutcome, StoreLimits};
use crate::store::sqlite::device_sets::active_devices;
use crate::store::sqlite::rows::ms;

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
pub fn drop_orphan_payloads(conn: &Connection, seqs: &[i64]) -> StoreResult<()> {
    let mut drop = conn.prepare_cached(
        "DELETE FROM payloads WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM queue_entries WHERE seq = ?1)",
    )?;
    for seq in seqs {
        drop.execute([seq])?;
    }
    Ok(())
}

/// Stores a 1:1 send: one payload per copy, all or nothing.
pub fn send_tx(conn: &Connection, limits: &StoreLimits, send: NewSend) -> StoreResult<SendOutcome> {
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

/// Stores a group send: one payload, an entry per device with room.
pub fn group_send_tx(
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
pub fn ack_all_tx(conn: &Connection, acks: Vec<(DeviceId, u64)>) -> StoreResult<u64> {
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
