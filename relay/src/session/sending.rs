//! The sends pipeline: a connection's `Send`s and `GroupSend`s are stored
//! without waiting for the previous commit, and answered in the order they
//! came.

use std::collections::BTreeSet;

use estafette_wire::{DeviceId, ErrorCode, GroupSend, Send, ServerFrame};
use futures::future::BoxFuture;
use futures::stream::FuturesOrdered;
use futures::{FutureExt, StreamExt};

use crate::clock::now_ms;
use crate::registry::Control;
use crate::session::close::End;
use crate::session::connection::Connection;
use crate::session::phase::Authed;
use crate::store::{GroupSendOutcome, NewGroupSend, NewSend, SendOutcome, StoreResult};

/// Sends one connection may have being stored before its next frames wait.
pub const MAX_STORING: usize = 32;

/// A send's outcome from the store, with its idempotency id.
pub enum Stored {
    /// A 1:1 send.
    Send([u8; 16], StoreResult<SendOutcome>),
    /// A group send.
    Group([u8; 16], StoreResult<GroupSendOutcome>),
}

/// Sends being stored, answered in the order they came. The queue is made
/// at a connection's first send: an empty `FuturesOrdered` already holds two
/// allocations (≈ 200 bytes for every idle socket).
#[derive(Default)]
pub struct Storing(Option<FuturesOrdered<BoxFuture<'static, Stored>>>);

impl Storing {
    /// Sends being stored.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, FuturesOrdered::len)
    }

    /// Whether no send is being stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the connection may start another send before answering one.
    pub fn has_room(&self) -> bool {
        self.len() < MAX_STORING
    }

    /// Adds a send being stored, answered after those before it.
    pub fn push_back(&mut self, future: BoxFuture<'static, Stored>) {
        self.0
            .get_or_insert_with(FuturesOrdered::new)
            .push_back(future);
    }

    /// The oldest send's outcome, once stored.
    pub async fn next(&mut self) -> Option<Stored> {
        match &mut self.0 {
            Some(queue) => queue.next().await,
            None => None,
        }
    }

    /// Answers every send being stored, in order, once each is stored.
    pub async fn answer_all(&mut self, conn: &Connection) -> Result<(), End> {
        while let Some(stored) = self.next().await {
            on_stored(conn, stored)?;
        }
        Ok(())
    }
}

/// Checks a `Send` and starts storing it.
pub fn start_send(
    conn: &Connection,
    authed: &Authed,
    send: Send,
) -> Result<BoxFuture<'static, Stored>, End> {
    let Send {
        idempotency_id,
        envelopes,
    } = send;
    let mut seen = BTreeSet::new();
    if envelopes.is_empty() || !envelopes.iter().all(|e| seen.insert(e.device)) {
        return Err(conn.out.fail(
            ErrorCode::MalformedFrame,
            "A send needs distinct recipient devices.",
            None,
        ));
    }
    let store = conn.shared.store.clone();
    let new = NewSend {
        sender_handle: authed.handle.clone(),
        sender_device: authed.device,
        idempotency_id,
        envelopes,
        now_ms: now_ms(),
    };
    Ok(async move { Stored::Send(idempotency_id, store.send(new).await) }.boxed())
}

/// Checks a `GroupSend` and starts storing it.
pub fn start_group_send(
    conn: &Connection,
    authed: &Authed,
    send: GroupSend,
) -> Result<BoxFuture<'static, Stored>, End> {
    let GroupSend {
        idempotency_id,
        recipients,
        payload,
    } = send;
    let mut handles = BTreeSet::new();
    let mut devices = BTreeSet::new();
    let distinct = recipients.iter().all(|r| {
        !r.devices.is_empty()
            && handles.insert(r.handle.as_str())
            && r.devices.iter().all(|d| devices.insert(*d))
    });
    if recipients.is_empty() || !distinct {
        return Err(conn.out.fail(
            ErrorCode::MalformedFrame,
            "A group send needs distinct accounts, each with distinct devices.",
            None,
        ));
    }
    let store = conn.shared.store.clone();
    let new = NewGroupSend {
        sender_handle: authed.handle.clone(),
        sender_device: authed.device,
        idempotency_id,
        recipients,
        payload,
        now_ms: now_ms(),
    };
    Ok(async move { Stored::Group(idempotency_id, store.group_send(new).await) }.boxed())
}

/// Answers a stored (or refused) send and wakes its recipients.
pub fn on_stored(conn: &Connection, stored: Stored) -> Result<(), End> {
    let out = &conn.out;
    match stored {
        Stored::Send(_, Err(error)) | Stored::Group(_, Err(error)) => {
            Err(out.internal(&error, None))
        }
        Stored::Send(idempotency_id, Ok(SendOutcome::Accepted(devices))) => {
            if !devices.is_empty() {
                out.metrics().messages_accepted.inc();
            }
            queued(conn, devices);
            out.send(&ServerFrame::Accepted(idempotency_id))
        }
        Stored::Send(idempotency_id, Ok(SendOutcome::Stale(accounts)))
        | Stored::Group(idempotency_id, Ok(GroupSendOutcome::Stale(accounts))) => {
            out.send(&ServerFrame::StaleDevices {
                idempotency_id,
                accounts,
            })
        }
        Stored::Send(idempotency_id, Ok(SendOutcome::QueueFull(handle))) => {
            out.send(&ServerFrame::QueueFull {
                idempotency_id,
                handle,
            })
        }
        Stored::Group(
            idempotency_id,
            Ok(GroupSendOutcome::Accepted {
                queued: devices,
                queue_full,
            }),
        ) => {
            let metrics = out.metrics();
            let skipped: usize = queue_full.iter().map(|r| r.devices.len()).sum();
            if !devices.is_empty() || skipped != 0 {
                metrics.messages_accepted.inc();
                metrics.group_messages_accepted.inc();
                metrics.group_copies_skipped.inc_by(skipped as u64);
            }
            queued(conn, devices);
            if queue_full.is_empty() {
                out.send(&ServerFrame::Accepted(idempotency_id))
            } else {
                out.send(&ServerFrame::GroupAccepted {
                    idempotency_id,
                    queue_full,
                })
            }
        }
    }
}

/// Counts copies just stored and wakes their devices' sessions.
fn queued(conn: &Connection, devices: Vec<DeviceId>) {
    let metrics = conn.out.metrics();
    metrics.copies_accepted.inc_by(devices.len() as u64);
    metrics.queue_depth.inc_by(devices.len() as i64);
    for device in devices {
        conn.shared.registry.notify(device, Control::Wake);
    }
}
