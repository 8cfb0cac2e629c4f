//! A session's frames to the client: queued for the writer task, counted,
//! and the error frames that may end the session.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::ws::{CloseFrame, Message};
use estafette_wire::{ErrorCode, ServerFrame};
use futures::channel::mpsc;

use crate::metrics::{ErrorLabels, FrameLabels, Metrics};
use crate::session::close::{End, TOO_SLOW};
use crate::store::StoreError;

/// The queue to one session's writer task.
pub struct Outbound {
    /// A futures channel: it allocates per queued frame, not a block of
    /// slots per socket up front (idle memory, docs/load.md).
    tx: Mutex<mpsc::Sender<Message>>,
    metrics: Arc<Metrics>,
}

impl Outbound {
    /// A queue of `capacity` frames; the receiver goes to the writer task.
    pub fn new(capacity: usize, metrics: Arc<Metrics>) -> (Self, mpsc::Receiver<Message>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let outbound = Self {
            tx: Mutex::new(tx),
            metrics,
        };
        (outbound, rx)
    }

    /// The writer's queue; never held across an await.
    fn sender(&self) -> MutexGuard<'_, mpsc::Sender<Message>> {
        self.tx.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The relay's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Queues a frame; `Err` when the client is too slow to take it.
    pub fn send(&self, frame: &ServerFrame) -> Result<(), End> {
        self.metrics
            .frames
            .get_or_create(&FrameLabels {
                direction: "out",
                kind: frame.kind(),
            })
            .inc();
        self.sender()
            .try_send(Message::Binary(frame.encode().into()))
            .map_err(|_| End::Close(TOO_SLOW, "too slow"))
    }

    /// Sends an error that does not end the session.
    pub fn error(&self, code: ErrorCode, detail: &str, request: Option<u32>) {
        self.metrics
            .errors
            .get_or_create(&ErrorLabels { code: code.name() })
            .inc();
        let _ = self.send(&ServerFrame::Error {
            code,
            detail: detail.into(),
            request,
        });
    }

    /// Sends a fatal error; the session then closes with its code.
    pub fn fail(&self, code: ErrorCode, detail: &str, request: Option<u32>) -> End {
        self.error(code, detail, request);
        End::Close(code.close_code(), code.name())
    }

    /// Logs a store failure and ends the session with `Internal`.
    pub fn internal(&self, error: &StoreError, request: Option<u32>) -> End {
        tracing::error!(%error, "store failure");
        self.fail(
            ErrorCode::Internal,
            "The relay failed; retry later.",
            request,
        )
    }

    /// Queues the close frame after what is already queued.
    pub fn close(&self, code: u16, reason: &'static str) {
        // A full queue means the client is not reading: drop it without ceremony.
        let _ = self.sender().try_send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })));
    }
}
