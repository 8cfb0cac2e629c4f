//! Assertions on a client, for tests: each panics with what came instead,
//! as `assert!` does. The load generator uses the fallible methods.
#![allow(clippy::panic)]

use std::time::Duration;

use estafette_wire::{ClientFrame, ErrorCode, ServerFrame};

use crate::client::{Client, Heard};
use crate::link::Link;

/// How long a test waits for a frame before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

impl<L: Link> Client<L> {
    /// Sends a frame; panics if the connection is gone.
    pub async fn send(&mut self, frame: &ClientFrame) {
        if let Err(error) = self.try_send(frame).await {
            panic!("cannot send {}: {error}", frame.kind());
        }
    }

    /// Sends raw bytes as a binary message, whatever happens to them.
    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        let _ = self.link.send_binary(bytes).await;
    }

    /// What comes within `timeout`; panics if nothing or garbage comes.
    pub async fn heard(&mut self, timeout: Duration) -> Heard {
        match self.hear(timeout).await {
            Ok(heard) => heard,
            Err(error) => panic!("{error}"),
        }
    }

    /// The next frame; panics on a close or after [`WAIT`].
    pub async fn recv(&mut self) -> ServerFrame {
        match self.heard(WAIT).await {
            Heard::Frame(frame) => frame,
            Heard::Closed(code) => panic!("closed ({code:?}) while waiting for a frame"),
        }
    }

    /// The next frame other than `PreKeysLow`.
    pub async fn recv_skipping_low(&mut self) -> ServerFrame {
        loop {
            match self.recv().await {
                ServerFrame::PreKeysLow { .. } => continue,
                other => return other,
            }
        }
    }

    /// Expects an error frame with `code`, then (for fatal ones) the matching close.
    pub async fn expect_error(&mut self, code: ErrorCode) {
        match self.recv_skipping_low().await {
            ServerFrame::Error { code: got, .. } => assert_eq!(got, code),
            other => panic!("expected error {code:?}, got {other:?}"),
        }
        if code.is_fatal() {
            self.expect_closed(code.close_code()).await;
        }
    }

    /// Expects the connection to close with `close`.
    pub async fn expect_closed(&mut self, close: u16) {
        match self.heard(WAIT).await {
            Heard::Closed(got) => assert_eq!(got, Some(close)),
            Heard::Frame(frame) => panic!("expected close {close}, got {frame:?}"),
        }
    }

    /// The challenge of the `Welcome` received.
    pub fn challenge(&self) -> [u8; 32] {
        match &self.welcome {
            Some(welcome) => welcome.challenge,
            None => panic!("no Welcome yet"),
        }
    }

    /// The origin the relay asked to sign.
    pub fn origin(&self) -> String {
        match &self.welcome {
            Some(welcome) => welcome.origin.clone(),
            None => panic!("no Welcome yet"),
        }
    }

    /// Sends `Hello` and expects `Welcome`.
    pub async fn hello(&mut self) {
        if let Err(error) = self.try_hello("test").await {
            panic!("no Welcome: {error}");
        }
    }
}
