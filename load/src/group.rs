//! Phase 2: group fan-out. One sender, `--group-members` devices of one
//! account each; then the database bytes a group message takes for offline
//! members, against the same message as one 1:1 copy per device.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use estafette_testkit::ws::{WsLink, ws_config};
use estafette_testkit::{ANSWER_TIME, Client, RelayProcess, unexpected};
use estafette_wire::limits::MAX_ENVELOPES_PER_SEND;
use estafette_wire::{ClientFrame, Envelope, GroupRecipient, Send, ServerFrame};
use futures::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use crate::args::Args;
use crate::connect::{Open, open, register_all, source};
use crate::measure::{Load, TrafficReport, run_load};
use crate::plan::{Member, group_devices};
use crate::traffic::Target;
use crate::{Context, Res};

/// Phase 2: one sender's group messages to many devices, then the storage
/// a group message takes for offline members.
pub async fn group_phase(
    args: &Args,
    relay: &mut RelayProcess,
    members: &Arc<Vec<Member>>,
) -> Res<TrafficReport> {
    let which = group_devices(args);
    let opened = register_all(relay.addr, args, members, which.clone(), "group").await?;
    let group = members
        .get(which.start + 1..which.end)
        .ok_or("no members")?;
    let recipients: Arc<Vec<GroupRecipient>> = Arc::new(
        group
            .iter()
            .map(|m| GroupRecipient {
                handle: m.handle.clone(),
                devices: vec![m.keys.id()],
            })
            .collect(),
    );
    // The first socket is the sender's; every member only receives (and acks).
    let sockets = opened
        .sockets
        .into_iter()
        .enumerate()
        .filter_map(|(n, ws)| Some((ws?, (n == 0).then(|| Target::Group(recipients.clone())))))
        .collect();
    let load = Load {
        label: "group",
        sockets,
        senders: 1,
        rate: args.group_rate,
        fanout: u64::from(args.group_members),
    };
    let report = run_load(args, relay, load).await?;
    if args.storage_messages > 0 {
        let sender = members.get(which.start).ok_or("no sender")?;
        group_storage(args, relay, sender, &recipients).await?;
    }
    Ok(report)
}

/// Bytes of the database in use (pages not on the free list), read through
/// SQLite: the WAL's content counts, free pages do not.
fn database_bytes(data: &Path) -> Res<u64> {
    let conn = rusqlite::Connection::open_with_flags(
        data.join("relay.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .context("cannot open the relay's database")?;
    let pragma = |name: &str| -> Res<u64> {
        conn.pragma_query_value(None, name, |r| r.get::<_, i64>(0))
            .map(|v| u64::try_from(v).unwrap_or(0))
            .context(format!("PRAGMA {name}"))
    };
    Ok((pragma("page_count")?.saturating_sub(pragma("freelist_count")?)) * pragma("page_size")?)
}

/// Queue entries left in the database.
fn queued_entries(data: &Path) -> Res<u64> {
    let conn = rusqlite::Connection::open_with_flags(
        data.join("relay.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .context("cannot open the relay's database")?;
    conn.query_row("SELECT count(*) FROM queue_entries", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|v| u64::try_from(v).unwrap_or(0))
    .context("count the queue")
}

/// Sends `frames` with at most `window` unanswered; every one must be `Accepted`.
async fn send_all(client: &mut Client<WsLink>, frames: Vec<ClientFrame>, window: usize) -> Res<()> {
    let mut frames = frames.into_iter();
    let mut outstanding = 0usize;
    loop {
        let ws = &mut client.link.0;
        while outstanding < window.max(1) {
            let Some(frame) = frames.next() else { break };
            ws.feed(Message::Binary(frame.encode().into()))
                .await
                .context("send")?;
            outstanding += 1;
        }
        ws.flush().await.context("send")?;
        if outstanding == 0 {
            return Ok(());
        }
        match client.next_frame(ANSWER_TIME).await.context("answer")? {
            ServerFrame::Accepted(_) => outstanding -= 1,
            ServerFrame::PreKeysLow { .. } => {}
            other => return Err(unexpected("Accepted", &other).to_string()),
        }
    }
}

/// Database bytes per group message stored for offline members, against the
/// same messages sent as one 1:1 copy per member device.
async fn group_storage(
    args: &Args,
    relay: &RelayProcess,
    sender: &Member,
    recipients: &[GroupRecipient],
) -> Res<()> {
    // The members are offline now; their last acks reach the database shortly.
    let mut left = queued_entries(&relay.data)?;
    for _ in 0..300 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = queued_entries(&relay.data)?;
    }
    let messages = args.storage_messages;
    let devices = recipients.len();
    println!(
        "group: storing {messages} group messages for the {devices} members, offline ({left} entries were left)…"
    );
    let ws = open(
        relay.addr,
        source(0, args.sources),
        sender,
        Open::Authenticate,
        ws_config(64 * 1024),
    )
    .await?;
    let mut client = Client::new(WsLink(ws));
    let payload = vec![0x42u8; args.payload as usize];
    let id = |kind: u8, message: u32, part: usize| {
        let mut id = [kind; 16];
        id[1..5].copy_from_slice(&message.to_le_bytes());
        id[5..9].copy_from_slice(&(part as u32).to_le_bytes());
        id
    };
    let before = database_bytes(&relay.data)?;
    let group: Vec<ClientFrame> = (0..messages)
        .map(|m| Target::Group(Arc::new(recipients.to_vec())).frame(id(1, m, 0), &payload))
        .collect();
    let started = Instant::now();
    send_all(&mut client, group, args.window as usize).await?;
    let group_elapsed = started.elapsed();
    let after_group = database_bytes(&relay.data)?;
    // The same as 1:1 copies: MAX_ENVELOPES_PER_SEND copies per Send.
    let mut copies = Vec::new();
    for m in 0..messages {
        for (part, chunk) in recipients.chunks(MAX_ENVELOPES_PER_SEND).enumerate() {
            copies.push(ClientFrame::Send(Send {
                idempotency_id: id(2, m, part),
                envelopes: chunk
                    .iter()
                    .flat_map(|r| {
                        r.devices.iter().map(|d| Envelope {
                            handle: r.handle.clone(),
                            device: *d,
                            payload: payload.clone(),
                        })
                    })
                    .collect(),
            }));
        }
    }
    let started = Instant::now();
    send_all(&mut client, copies, args.window as usize).await?;
    let copies_elapsed = started.elapsed();
    let after_copies = database_bytes(&relay.data)?;
    let _ = client.link.0.close(None).await;
    let per = |bytes: u64| bytes as f64 / f64::from(messages.max(1));
    let group_bytes = per(after_group.saturating_sub(before));
    let copy_bytes = per(after_copies.saturating_sub(after_group));
    println!();
    println!("==== group storage ====");
    println!(
        "  command                  : group-members={devices} storage-messages={messages} payload={} B",
        args.payload
    );
    println!(
        "  as group messages        : {:.0} bytes per message ({:.1} per device; {:.2} s to store, {:.0} msg/s)",
        group_bytes,
        group_bytes / devices.max(1) as f64,
        group_elapsed.as_secs_f64(),
        f64::from(messages) / group_elapsed.as_secs_f64().max(1e-9)
    );
    println!(
        "  as 1:1 copies            : {:.0} bytes per message ({:.1} per device; {:.2} s to store)",
        copy_bytes,
        copy_bytes / devices.max(1) as f64,
        copies_elapsed.as_secs_f64()
    );
    println!(
        "  ratio                    : group messages take {:.1}× less ({} → {} → {} bytes in use)",
        copy_bytes / group_bytes.max(1.0),
        before,
        after_group,
        after_copies
    );
    Ok(())
}
