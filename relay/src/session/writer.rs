//! The task that writes a session's queued frames to its socket.

use axum::extract::ws::Message;
use futures::channel::mpsc;
use futures::{Sink, SinkExt, StreamExt};

/// Writes what the session queues until it closes or the socket fails.
pub async fn write_all<S: Sink<Message> + Unpin>(mut sink: S, mut rx: mpsc::Receiver<Message>) {
    while let Some(message) = rx.next().await {
        let closing = matches!(message, Message::Close(_));
        // Feed what is queued, flush once: fewer syscalls under load.
        if sink.feed(message).await.is_err() {
            break;
        }
        let mut closed = closing;
        while !closed {
            match rx.try_recv() {
                Ok(more) => {
                    closed = matches!(more, Message::Close(_));
                    if sink.feed(more).await.is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        if sink.flush().await.is_err() || closed {
            break;
        }
    }
    let _ = sink.close().await;
}
