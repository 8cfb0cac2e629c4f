//! The [`Store`] contract over SQLite: each method a write job or a read.

use estafette_wire::{AccountInfo, Bundle, DeviceId, PreKeyUpload};
use futures::FutureExt;
use futures::future::BoxFuture;
use rusqlite::{OptionalExtension, params};

use crate::store::error::{StoreError, StoreResult};
use crate::store::records::{
    AccountSummary, DeviceRecord, DeviceSummary, GroupSendOutcome, NewDevice, NewGroupSend,
    NewSend, PreKeyStock, QueuedCopy, RegisterRefusal, SendOutcome,
};
use crate::store::sqlite::accounts::register_tx;
use crate::store::sqlite::device_sets::forget_device_sets;
use crate::store::sqlite::prekeys::{insert_prekeys, take_bundle};
use crate::store::sqlite::queue::{ack_all_tx, drop_orphan_payloads, group_send_tx, send_tx};
use crate::store::sqlite::rows::{
    account_info, active_account, device_id, devices_of, like_prefix, ms, stock, unms,
};
use crate::store::sqlite::sqlite_store::SqliteStore;
use crate::store::traits::Store;

impl Store for SqliteStore {
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .boxed()
    }

    fn create_invite(
        &self,
        handle: String,
        name: String,
        token_hash: [u8; 32],
        now_ms: u64,
        expires_at_ms: u64,
    ) -> BoxFuture<'_, StoreResult<Result<(), RegisterRefusal>>> {
        self.write(move |conn, _| {
            let existing: Option<(i64, Option<Vec<u8>>, Option<i64>)> = conn
                .query_row("SELECT id, account_key, revoked_at FROM accounts WHERE handle = ?1", [&handle], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            let account_id = match existing {
                Some((_, _, Some(_))) => return Ok(Err(RegisterRefusal::Revoked)),
                Some((id, None, None)) => {
                    conn.execute("UPDATE accounts SET name = ?2 WHERE id = ?1", params![id, &name])?;
                    id
                }
                Some((id, Some(_), None)) => id,
                None => {
                    conn.execute(
                        "INSERT INTO accounts (handle, name, created_at) VALUES (?1, ?2, ?3)",
                        params![&handle, &name, ms(now_ms)],
                    )?;
                    conn.last_insert_rowid()
                }
            };
            conn.execute(
                "INSERT INTO invites (token_hash, account_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![&token_hash[..], account_id, ms(now_ms), ms(expires_at_ms)],
            )?;
            Ok(Ok(()))
        })
        .boxed()
    }

    fn list_accounts(&self) -> BoxFuture<'_, StoreResult<Vec<AccountSummary>>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT handle, name, account_key IS NOT NULL, revoked_at, \
                 (SELECT count(*) FROM devices d WHERE d.account_id = a.id) FROM accounts a ORDER BY handle",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(AccountSummary {
                    handle: r.get(0)?,
                    name: r.get(1)?,
                    registered: r.get(2)?,
                    revoked_at_ms: r.get::<_, Option<i64>>(3)?.map(unms),
                    devices: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .boxed()
    }

    fn list_devices(
        &self,
        handle: String,
    ) -> BoxFuture<'_, StoreResult<Option<Vec<DeviceSummary>>>> {
        self.read(move |conn| {
            let account: Option<i64> =
                conn.query_row("SELECT id FROM accounts WHERE handle = ?1", [&handle], |r| r.get(0)).optional()?;
            let Some(account_id) = account else { return Ok(None) };
            let mut stmt = conn.prepare(
                "SELECT device_id, created_at, queue_count FROM devices WHERE account_id = ?1 ORDER BY created_at",
            )?;
            let rows: Vec<(Vec<u8>, i64, i64)> =
                stmt.query_map([account_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
            let mut out = Vec::new();
            for (id, created, queued) in rows {
                let device = device_id(id)?;
                let stock = stock(conn, &device)?;
                out.push(DeviceSummary {
                    device_id: device,
                    created_at_ms: unms(created),
                    queued: unms(queued),
                    one_time_prekeys: stock.one_time,
                    kem_one_time_prekeys: stock.kem_one_time,
                });
            }
            Ok(Some(out))
        })
        .boxed()
    }

    fn revoke(
        &self,
        handle: String,
        now_ms: u64,
    ) -> BoxFuture<'_, StoreResult<Option<Vec<DeviceId>>>> {
        self.write(move |conn, _| {
            forget_device_sets();
            let account: Option<i64> = conn
                .query_row(
                    "SELECT id FROM accounts WHERE handle = ?1",
                    [&handle],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(account_id) = account else {
                return Ok(None);
            };
            conn.execute(
                "UPDATE accounts SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                params![account_id, ms(now_ms)],
            )?;
            conn.execute(
                "DELETE FROM invites WHERE account_id = ?1 AND used_at IS NULL",
                [account_id],
            )?;
            let devices = devices_of(conn, account_id)?;
            for device in &devices {
                let id = &device.0[..];
                let seqs: Vec<i64> = conn
                    .prepare_cached("DELETE FROM queue_entries WHERE device_id = ?1 RETURNING seq")?
                    .query_map([id], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                drop_orphan_payloads(conn, &seqs)?;
                for table in [
                    "signed_prekeys",
                    "kem_last_resort_prekeys",
                    "one_time_prekeys",
                    "kem_one_time_prekeys",
                ] {
                    conn.execute(&format!("DELETE FROM {table} WHERE device_id = ?1"), [id])?;
                }
                conn.execute(
                    "UPDATE devices SET queue_count = 0, queue_bytes = 0 WHERE device_id = ?1",
                    [id],
                )?;
            }
            Ok(Some(devices))
        })
        .boxed()
    }

    fn revoked_devices_since(&self, since_ms: u64) -> BoxFuture<'_, StoreResult<Vec<DeviceId>>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT d.device_id FROM devices d JOIN accounts a ON a.id = d.account_id WHERE a.revoked_at >= ?1",
            )?;
            let rows = stmt.query_map([ms(since_ms)], |r| r.get::<_, Vec<u8>>(0))?;
            rows.map(|r| device_id(r?)).collect()
        })
        .boxed()
    }

    fn register(
        &self,
        device: NewDevice,
    ) -> BoxFuture<'_, StoreResult<Result<AccountInfo, RegisterRefusal>>> {
        self.write(move |conn, _| register_tx(conn, device)).boxed()
    }

    fn device(&self, device: DeviceId) -> BoxFuture<'_, StoreResult<Option<DeviceRecord>>> {
        self.read(move |conn| {
            let row: Option<(Vec<u8>, i64, Option<i64>)> = conn
                .prepare_cached(
                    "SELECT d.certificate, d.account_id, a.revoked_at FROM devices d JOIN accounts a ON a.id = d.account_id WHERE d.device_id = ?1",
                )?
                .query_row([&device.0[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((certificate, account_id, revoked)) = row else { return Ok(None) };
            Ok(Some(DeviceRecord { certificate, account: account_info(conn, account_id)?, revoked: revoked.is_some() }))
        })
        .boxed()
    }

    fn account(&self, handle: String) -> BoxFuture<'_, StoreResult<Option<AccountInfo>>> {
        self.read(move |conn| match active_account(conn, &handle)? {
            Some(id) => Ok(Some(account_info(conn, id)?)),
            None => Ok(None),
        })
        .boxed()
    }

    fn search(&self, query: String, limit: u32) -> BoxFuture<'_, StoreResult<Vec<AccountInfo>>> {
        self.read(move |conn| {
            let pattern = like_prefix(&query);
            let mut stmt = conn.prepare_cached(
                "SELECT handle, name, account_key FROM accounts \
                 WHERE revoked_at IS NULL AND account_key IS NOT NULL \
                 AND (handle LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\' OR name LIKE '% ' || ?1 ESCAPE '\\') \
                 ORDER BY name COLLATE NOCASE, handle LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![pattern, limit], |r| {
                Ok(AccountInfo {
                    handle: r.get(0)?,
                    name: r.get(1)?,
                    account_key: r.get::<_, Option<Vec<u8>>>(2)?.unwrap_or_default(),
                    devices: Vec::new(),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .boxed()
    }

    fn upload_prekeys(
        &self,
        device: DeviceId,
        upload: PreKeyUpload,
    ) -> BoxFuture<'_, StoreResult<Option<PreKeyStock>>> {
        async move {
            let result = self
                .write(move |conn, limits| {
                    insert_prekeys(conn, &device, &upload)?;
                    let stock = stock(conn, &device)?;
                    if stock.one_time > limits.max_one_time_prekeys
                        || stock.kem_one_time > limits.max_kem_one_time_prekeys
                    {
                        return Err(StoreError::Refused);
                    }
                    Ok(stock)
                })
                .await;
            match result {
                Ok(stock) => Ok(Some(stock)),
                Err(StoreError::Refused) => Ok(None),
                Err(e) => Err(e),
            }
        }
        .boxed()
    }

    fn prekey_stock(&self, device: DeviceId) -> BoxFuture<'_, StoreResult<PreKeyStock>> {
        self.read(move |conn| stock(conn, &device)).boxed()
    }

    fn take_bundles(
        &self,
        handle: String,
    ) -> BoxFuture<'_, StoreResult<Option<(AccountInfo, Vec<(Bundle, PreKeyStock)>)>>> {
        self.write(move |conn, _| {
            let Some(account_id) = active_account(conn, &handle)? else {
                return Ok(None);
            };
            let info = account_info(conn, account_id)?;
            let mut bundles = Vec::new();
            for device in &info.devices {
                let certificate: Vec<u8> = conn
                    .prepare_cached("SELECT certificate FROM devices WHERE device_id = ?1")?
                    .query_row([&device.0[..]], |r| r.get(0))?;
                if let Some(bundle) = take_bundle(conn, device, certificate)? {
                    bundles.push(bundle);
                }
            }
            Ok(Some((info, bundles)))
        })
        .boxed()
    }

    fn send(&self, send: NewSend) -> BoxFuture<'_, StoreResult<SendOutcome>> {
        self.write(move |conn, limits| send_tx(conn, limits, send))
            .boxed()
    }

    fn group_send(&self, send: NewGroupSend) -> BoxFuture<'_, StoreResult<GroupSendOutcome>> {
        self.write(move |conn, limits| group_send_tx(conn, limits, send))
            .boxed()
    }

    fn pending(
        &self,
        device: DeviceId,
        after: u64,
        limit: u32,
    ) -> BoxFuture<'_, StoreResult<Vec<QueuedCopy>>> {
        self.read_now(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT e.seq, p.sender_handle, p.sender_device, p.accepted_at, p.payload \
                 FROM queue_entries e JOIN payloads p ON p.id = e.seq \
                 WHERE e.device_id = ?1 AND e.seq > ?2 ORDER BY e.seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![&device.0[..], ms(after), limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                ))
            })?;
            rows.map(|row| {
                let (seq, sender, sender_device, accepted_at, payload) = row?;
                Ok(QueuedCopy {
                    seq: unms(seq),
                    sender,
                    sender_device: device_id(sender_device)?,
                    accepted_at_ms: unms(accepted_at),
                    payload,
                })
            })
            .collect()
        })
        .boxed()
    }

    fn ack(&self, device: DeviceId, seq: u64) -> BoxFuture<'_, StoreResult<bool>> {
        self.write(move |conn, _| Ok(ack_all_tx(conn, vec![(device, seq)])? == 1))
            .boxed()
    }

    fn ack_all(&self, acks: Vec<(DeviceId, u64)>) -> BoxFuture<'_, StoreResult<u64>> {
        self.write(move |conn, _| ack_all_tx(conn, acks)).boxed()
    }

    fn expire(&self, now_ms: u64) -> BoxFuture<'_, StoreResult<u64>> {
        self.write(move |conn, limits| {
            let mut stmt = conn.prepare_cached(
                "SELECT e.device_id, count(*), sum(length(p.payload)) FROM payloads p \
                 JOIN queue_entries e ON e.seq = p.id WHERE p.expires_at < ?1 GROUP BY e.device_id",
            )?;
            let rows: Vec<(Vec<u8>, i64, i64)> =
                stmt.query_map([ms(now_ms)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
            let mut total = 0;
            for (device, count, bytes) in rows {
                conn.execute(
                    "UPDATE devices SET queue_count = max(queue_count - ?2, 0), queue_bytes = max(queue_bytes - ?3, 0) WHERE device_id = ?1",
                    params![device, count, bytes],
                )?;
                total += unms(count);
            }
            conn.execute(
                "DELETE FROM queue_entries WHERE seq IN (SELECT id FROM payloads WHERE expires_at < ?1)",
                [ms(now_ms)],
            )?;
            conn.execute("DELETE FROM payloads WHERE expires_at < ?1", [ms(now_ms)])?;
            conn.execute("DELETE FROM sends WHERE accepted_at < ?1", [ms(now_ms.saturating_sub(limits.retention_ms))])?;
            Ok(total)
        })
        .boxed()
    }

    fn payloads_total(&self) -> BoxFuture<'_, StoreResult<u64>> {
        self.read(|conn| {
            let n: i64 = conn.query_row("SELECT count(*) FROM payloads", [], |r| r.get(0))?;
            Ok(unms(n))
        })
        .boxed()
    }

    fn queued_total(&self) -> BoxFuture<'_, StoreResult<u64>> {
        self.read(|conn| {
            let n: i64 = conn.query_row(
                "SELECT coalesce(sum(queue_count), 0) FROM devices",
                [],
                |r| r.get(0),
            )?;
            Ok(unms(n))
        })
        .boxed()
    }
}
