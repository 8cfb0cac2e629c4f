//! The session loop: reads frames, routes them by phase, pipelines sends,
//! listens for signals and deadlines, and closes the connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Message;
use estafette_wire::{ClientFrame, ErrorCode};
use futures::{Sink, Stream, StreamExt};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::metrics::FrameLabels;
use crate::session::close::{End, IDLE};
use crate::session::connection::Connection;
use crate::session::dispatch;
use crate::session::limits::Limits;
use crate::session::outbound::Outbound;
use crate::session::phase::Phase;
use crate::session::sending::{self, Storing};
use crate::session::writer::write_all;
use crate::shutdown::stopped;
use crate::state::Shared;

/// One connection's context.
pub struct SessionContext {
    /// Shared state.
    pub shared: Arc<Shared>,
    /// Turns `true` when the relay shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// The relay origin the client must sign (`ws://host:port`).
    pub origin: String,
    /// The client's address, for logs.
    pub peer: SocketAddr,
}

/// Runs a session until the client leaves, breaks the protocol, or the relay stops.
pub async fn run<S, R, E>(sink: S, mut stream: R, ctx: SessionContext)
where
    S: Sink<Message> + Unpin + std::marker::Send + 'static,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let SessionContext {
        shared,
        mut shutdown,
        origin,
        peer,
    } = ctx;
    let metrics = shared.metrics.clone();
    metrics.connections_open.inc();
    metrics.connections_total.inc();
    let (out, rx) = Outbound::new(shared.config.outbound_queue, metrics.clone());
    let writer = tokio::spawn(write_all(sink, rx));
    let config = shared.config.clone();
    let conn = Connection {
        id: shared.registry.connection_id(),
        limits: Limits::new(&config),
        shared,
        out,
        origin,
    };
    let auth_deadline = Instant::now() + config.auth_timeout;
    let mut idle_deadline = Instant::now() + config.idle_timeout;
    let mut phase = Phase::AwaitingHello;
    // Sends being stored, answered in the order they came.
    let mut storing = Storing::default();
    let end = loop {
        let authenticated = matches!(phase, Phase::Ready(_));
        let control = async {
            match &phase {
                Phase::Ready(authed) => authed.control.next().await,
                _ => std::future::pending().await,
            }
        };
        let next = tokio::select! {
            biased;
            () = stopped(&mut shutdown) => {
                break conn.out.fail(ErrorCode::ShuttingDown, "The relay is restarting.", None);
            }
            Some(stored) = storing.next(), if !storing.is_empty() => {
                match sending::on_stored(&conn, stored) {
                    Ok(()) => continue,
                    Err(end) => break end,
                }
            }
            signal = control => {
                // Boxed: the handlers' states would otherwise be part of every
                // idle session's future (about 2 KiB per socket).
                match Box::pin(dispatch::on_control(&conn, &mut phase, signal)).await {
                    Ok(()) => continue,
                    Err(end) => break end,
                }
            }
            () = tokio::time::sleep_until(auth_deadline), if !authenticated => {
                break conn.out.fail(ErrorCode::AuthTimeout, "No answer to the challenge in time.", None);
            }
            () = tokio::time::sleep_until(idle_deadline) => break End::Close(IDLE, "idle"),
            // Last: a client sending without pause must not starve the rest.
            next = stream.next(), if storing.has_room() => next,
        };
        idle_deadline = Instant::now() + config.idle_timeout;
        let bytes = match next {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break End::Gone,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Text(_))) => {
                break conn
                    .out
                    .fail(ErrorCode::MalformedFrame, "Frames are binary CBOR.", None);
            }
            Some(Ok(Message::Binary(bytes))) => bytes,
        };
        if !conn.limits.frame() {
            if let Err(end) = storing.answer_all(&conn).await {
                break end;
            }
            conn.out
                .error(ErrorCode::RateLimited, "Too many frames; slow down.", None);
            continue;
        }
        let frame = match ClientFrame::decode(&bytes) {
            Ok(frame) => frame,
            Err(error) => {
                tracing::debug!(%peer, %error, "malformed frame");
                break conn.out.fail(
                    ErrorCode::MalformedFrame,
                    "The frame could not be decoded.",
                    None,
                );
            }
        };
        metrics
            .frames
            .get_or_create(&FrameLabels {
                direction: "in",
                kind: frame.kind(),
            })
            .inc();
        let handled = match (&phase, frame) {
            // Stored without waiting: the connection's next frames are read
            // (and its next sends join the same commit) meanwhile.
            (Phase::Ready(authed), ClientFrame::Send(send)) => {
                sending::start_send(&conn, authed, send).map(|f| storing.push_back(f))
            }
            (Phase::Ready(authed), ClientFrame::GroupSend(send)) => {
                sending::start_group_send(&conn, authed, send).map(|f| storing.push_back(f))
            }
            // Acks answer nothing: no need to wait for the sends before them.
            (Phase::Ready(_), frame @ ClientFrame::Ack(_)) => {
                Box::pin(dispatch::on_frame(&conn, &mut phase, frame)).await
            }
            // Anything else is answered after the sends before it.
            (_, frame) => match storing.answer_all(&conn).await {
                Ok(()) => Box::pin(dispatch::on_frame(&conn, &mut phase, frame)).await,
                Err(end) => Err(end),
            },
        };
        if let Err(end) = handled {
            break end;
        }
    };
    if let Phase::Ready(authed) = &phase {
        conn.shared.registry.remove(authed.device, conn.id);
        metrics
            .devices_connected
            .set(conn.shared.registry.len() as i64);
    }
    if let End::Close(code, reason) = end {
        conn.out.close(code, reason);
    }
    // The writer ends once the queue's sender (in the connection) is gone.
    drop(conn);
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    metrics.connections_open.dec();
}
