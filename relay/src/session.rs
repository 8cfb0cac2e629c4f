//! One client's WebSocket session. Generic over `Sink`/`Stream` so tests can
//! drive it with channels (axum `examples/testing-websockets`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use estafette_wire::{ClientFrame, ErrorCode, ServerFrame, WIRE_VERSION, Welcome};
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::{mpsc, watch};

use crate::metrics::{ErrorLabels, FrameLabels, Metrics};

/// Software name sent in `Welcome`.
pub const SOFTWARE: &str = concat!("estafette-relay/", env!("CARGO_PKG_VERSION"));

/// WebSocket close codes the relay uses (4000-4999 are for applications).
pub mod close_code {
    /// The relay is going away (restart, shutdown).
    pub const GOING_AWAY: u16 = 1001;
    /// The client broke the protocol.
    pub const PROTOCOL: u16 = 4000;
    /// The client's wire version is not spoken here.
    pub const UNSUPPORTED_VERSION: u16 = 4001;
    /// The client reads too slowly; its outbound queue overflowed.
    pub const TOO_SLOW: u16 = 4002;
    /// Nothing heard from the client for the idle timeout.
    pub const IDLE: u16 = 4003;
}

/// What a session needs from the relay.
#[derive(Clone)]
pub struct SessionContext {
    /// Shared metrics.
    pub metrics: Arc<Metrics>,
    /// Turns `true` when the relay shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// Frames queued for this socket before the client is judged too slow.
    pub outbound_queue: usize,
    /// Silence allowed from the client.
    pub idle_timeout: Duration,
}

enum Phase {
    AwaitingHello,
    Ready,
}

/// Why the session ends, with the close frame to send.
struct Ending {
    code: u16,
    reason: &'static str,
}

/// Runs a session until the client leaves, breaks the protocol, or the relay stops.
pub async fn run<S, R, E>(sink: S, mut stream: R, mut ctx: SessionContext)
where
    S: Sink<Message> + Unpin + Send + 'static,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    ctx.metrics.connections_open.inc();
    ctx.metrics.connections_total.inc();
    let (tx, rx) = mpsc::channel::<Message>(ctx.outbound_queue.max(1));
    let writer = tokio::spawn(write_all(sink, rx));
    let mut phase = Phase::AwaitingHello;
    let ending = loop {
        let next = tokio::select! {
            next = stream.next() => next,
            _ = ctx.shutdown.wait_for(|stopping| *stopping) => {
                send_error(&tx, &ctx.metrics, ErrorCode::ShuttingDown, "The relay is restarting.");
                break Some(Ending { code: close_code::GOING_AWAY, reason: "relay restarting" });
            }
            () = tokio::time::sleep(ctx.idle_timeout) => {
                break Some(Ending { code: close_code::IDLE, reason: "idle" });
            }
        };
        let bytes = match next {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Text(_))) => {
                send_error(
                    &tx,
                    &ctx.metrics,
                    ErrorCode::MalformedFrame,
                    "Frames are binary CBOR.",
                );
                break Some(Ending {
                    code: close_code::PROTOCOL,
                    reason: "text frame",
                });
            }
            Some(Ok(Message::Binary(bytes))) => bytes,
        };
        let frame = match ClientFrame::decode(&bytes) {
            Ok(frame) => frame,
            Err(error) => {
                tracing::debug!(%error, "malformed frame");
                send_error(
                    &tx,
                    &ctx.metrics,
                    ErrorCode::MalformedFrame,
                    "The frame could not be decoded.",
                );
                break Some(Ending {
                    code: close_code::PROTOCOL,
                    reason: "malformed frame",
                });
            }
        };
        ctx.metrics
            .frames
            .get_or_create(&FrameLabels {
                direction: "in",
                kind: frame.kind(),
            })
            .inc();
        let reply = match (&phase, frame) {
            (Phase::AwaitingHello, ClientFrame::Hello(hello))
                if hello.wire_version == WIRE_VERSION =>
            {
                phase = Phase::Ready;
                ServerFrame::Welcome(Welcome {
                    wire_version: WIRE_VERSION,
                    software: SOFTWARE.into(),
                })
            }
            (Phase::AwaitingHello, ClientFrame::Hello(_)) => {
                send_error(
                    &tx,
                    &ctx.metrics,
                    ErrorCode::UnsupportedVersion,
                    "This relay speaks wire version 1.",
                );
                break Some(Ending {
                    code: close_code::UNSUPPORTED_VERSION,
                    reason: "unsupported version",
                });
            }
            (Phase::Ready, ClientFrame::Ping(value)) => ServerFrame::Pong(value),
            (Phase::AwaitingHello, ClientFrame::Ping(_))
            | (Phase::Ready, ClientFrame::Hello(_)) => {
                send_error(
                    &tx,
                    &ctx.metrics,
                    ErrorCode::UnexpectedFrame,
                    "That frame is not expected now.",
                );
                break Some(Ending {
                    code: close_code::PROTOCOL,
                    reason: "unexpected frame",
                });
            }
        };
        if !send(&tx, &ctx.metrics, &reply) {
            break Some(Ending {
                code: close_code::TOO_SLOW,
                reason: "too slow",
            });
        }
    };
    if let Some(Ending { code, reason }) = ending {
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        // A full queue means the client is not reading: drop it without ceremony.
        let _ = tx.try_send(close);
    }
    drop(tx);
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    ctx.metrics.connections_open.dec();
}

/// Queues a frame; `false` when the client is too slow to take it.
fn send(tx: &mpsc::Sender<Message>, metrics: &Metrics, frame: &ServerFrame) -> bool {
    metrics
        .frames
        .get_or_create(&FrameLabels {
            direction: "out",
            kind: frame.kind(),
        })
        .inc();
    tx.try_send(Message::Binary(frame.encode().into())).is_ok()
}

fn send_error(tx: &mpsc::Sender<Message>, metrics: &Metrics, code: ErrorCode, detail: &str) {
    metrics
        .errors
        .get_or_create(&ErrorLabels {
            code: error_name(code),
        })
        .inc();
    let _ = send(
        tx,
        metrics,
        &ServerFrame::Error {
            code,
            detail: detail.into(),
        },
    );
}

fn error_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::MalformedFrame => "malformed_frame",
        ErrorCode::UnsupportedVersion => "unsupported_version",
        ErrorCode::UnexpectedFrame => "unexpected_frame",
        ErrorCode::ShuttingDown => "shutting_down",
    }
}

async fn write_all<S: Sink<Message> + Unpin>(mut sink: S, mut rx: mpsc::Receiver<Message>) {
    while let Some(message) = rx.recv().await {
        let closing = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use estafette_wire::Hello;
    use futures::channel::mpsc as fmpsc;

    struct Harness {
        to_relay: fmpsc::UnboundedSender<Result<Message, ()>>,
        from_relay: fmpsc::UnboundedReceiver<Message>,
        stop: watch::Sender<bool>,
        task: tokio::task::JoinHandle<()>,
        metrics: Arc<Metrics>,
    }

    fn start() -> Harness {
        let (to_relay, relay_in) = fmpsc::unbounded();
        let (relay_out, from_relay) = fmpsc::unbounded();
        let (stop, shutdown) = watch::channel(false);
        let metrics = Arc::new(Metrics::new());
        let ctx = SessionContext {
            metrics: metrics.clone(),
            shutdown,
            outbound_queue: 8,
            idle_timeout: Duration::from_secs(30),
        };
        let task = tokio::spawn(run(relay_out, relay_in, ctx));
        Harness {
            to_relay,
            from_relay,
            stop,
            task,
            metrics,
        }
    }

    impl Harness {
        fn send(&self, frame: &ClientFrame) {
            self.to_relay
                .unbounded_send(Ok(Message::Binary(frame.encode().into())))
                .unwrap();
        }
        async fn recv(&mut self) -> Message {
            tokio::time::timeout(Duration::from_secs(60), self.from_relay.next())
                .await
                .unwrap()
                .unwrap()
        }
        async fn recv_frame(&mut self) -> ServerFrame {
            match self.recv().await {
                Message::Binary(bytes) => ServerFrame::decode(&bytes).unwrap(),
                other => panic!("expected a binary frame, got {other:?}"),
            }
        }
        async fn recv_close(&mut self) -> u16 {
            match self.recv().await {
                Message::Close(Some(frame)) => frame.code,
                other => panic!("expected a close, got {other:?}"),
            }
        }
    }

    fn hello(version: u16) -> ClientFrame {
        ClientFrame::Hello(Hello {
            wire_version: version,
            software: "test".into(),
        })
    }

    #[tokio::test]
    async fn hello_then_ping_are_answered() {
        let mut h = start();
        h.send(&hello(WIRE_VERSION));
        assert!(
            matches!(h.recv_frame().await, ServerFrame::Welcome(w) if w.wire_version == WIRE_VERSION)
        );
        h.send(&ClientFrame::Ping(42));
        assert_eq!(h.recv_frame().await, ServerFrame::Pong(42));
        assert_eq!(h.metrics.connections_open.get(), 1);
        drop(h.to_relay);
        h.task.await.unwrap();
        assert_eq!(h.metrics.connections_open.get(), 0);
    }

    #[tokio::test]
    async fn unknown_version_is_refused_with_a_distinct_close() {
        let mut h = start();
        h.send(&hello(WIRE_VERSION + 1));
        assert!(matches!(
            h.recv_frame().await,
            ServerFrame::Error {
                code: ErrorCode::UnsupportedVersion,
                ..
            }
        ));
        assert_eq!(h.recv_close().await, close_code::UNSUPPORTED_VERSION);
    }

    #[tokio::test]
    async fn garbage_gets_an_error_and_a_close() {
        let mut h = start();
        h.to_relay
            .unbounded_send(Ok(Message::Binary(vec![0xff, 0x00, 0x13].into())))
            .unwrap();
        assert!(matches!(
            h.recv_frame().await,
            ServerFrame::Error {
                code: ErrorCode::MalformedFrame,
                ..
            }
        ));
        assert_eq!(h.recv_close().await, close_code::PROTOCOL);
        h.task.await.unwrap();
    }

    #[tokio::test]
    async fn ping_before_hello_is_unexpected() {
        let mut h = start();
        h.send(&ClientFrame::Ping(1));
        assert!(matches!(
            h.recv_frame().await,
            ServerFrame::Error {
                code: ErrorCode::UnexpectedFrame,
                ..
            }
        ));
        assert_eq!(h.recv_close().await, close_code::PROTOCOL);
    }

    #[tokio::test]
    async fn shutdown_tells_the_client_and_closes() {
        let mut h = start();
        h.send(&hello(WIRE_VERSION));
        h.recv_frame().await;
        h.stop.send(true).unwrap();
        assert!(matches!(
            h.recv_frame().await,
            ServerFrame::Error {
                code: ErrorCode::ShuttingDown,
                ..
            }
        ));
        assert_eq!(h.recv_close().await, close_code::GOING_AWAY);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_closed_after_the_idle_timeout() {
        let mut h = start();
        assert_eq!(h.recv_close().await, close_code::IDLE);
    }
}
