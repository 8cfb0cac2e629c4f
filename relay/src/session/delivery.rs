//! Delivery of a device's queue: copies sent up to a window of
//! unacknowledged ones, refilled as acks come.

use estafette_wire::{Delivery, ServerFrame};

use crate::clock::now_ms;
use crate::session::close::End;
use crate::session::connection::Connection;
use crate::session::phase::Authed;

/// Sends queued copies until `max_in_flight` are unacknowledged.
pub async fn pump(conn: &Connection, authed: &mut Authed) -> Result<(), End> {
    let room = conn
        .shared
        .config
        .max_in_flight
        .saturating_sub(authed.in_flight.len());
    if room == 0 {
        return Ok(());
    }
    let copies = conn
        .shared
        .store
        .pending(authed.device, authed.sent_up_to, room as u32)
        .await
        .map_err(|e| conn.out.internal(&e, None))?;
    authed.more_queued = copies.len() == room;
    let now = now_ms();
    for copy in copies {
        authed.sent_up_to = authed.sent_up_to.max(copy.seq);
        authed.in_flight.insert(copy.seq);
        conn.out
            .metrics()
            .deliver_latency
            .observe(now.saturating_sub(copy.accepted_at_ms) as f64 / 1000.0);
        conn.out.send(&ServerFrame::Deliver(Delivery {
            delivery_id: copy.seq,
            sender: copy.sender,
            sender_device: copy.sender_device,
            accepted_at_ms: copy.accepted_at_ms,
            payload: copy.payload,
        }))?;
    }
    Ok(())
}

/// New copies may be queued: send them.
pub async fn wake(conn: &Connection, authed: &mut Authed) -> Result<(), End> {
    authed.more_queued = true;
    pump(conn, authed).await
}

/// The client acknowledged delivery `seq`: its copy goes, the window refills.
pub async fn ack(conn: &Connection, authed: &mut Authed, seq: u64) -> Result<(), End> {
    // Only a delivery in flight here can be acknowledged here: a copy sent
    // on an earlier connection comes again first.
    if authed.in_flight.remove(&seq) {
        conn.shared.acks.push(authed.device, seq);
    }
    // Refill when half the window is free: one query per many acks.
    if authed.more_queued && authed.in_flight.len() <= conn.shared.config.max_in_flight / 2 {
        pump(conn, authed).await?;
    }
    Ok(())
}
