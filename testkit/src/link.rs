//! What a test client talks to the relay through: a real WebSocket or
//! in-memory channels to a session, the same to the client above.

use std::future::Future;

use crate::error::KitError;

/// What came from the relay.
#[derive(Debug)]
pub enum Incoming {
    /// A binary message: a frame's bytes.
    Binary(Vec<u8>),
    /// The connection closed, with the relay's close code if it sent one.
    Closed(Option<u16>),
}

/// One connection to the relay, carrying WebSocket messages.
pub trait Link: Send {
    /// Sends one binary message.
    fn send_binary(&mut self, bytes: Vec<u8>) -> impl Future<Output = Result<(), KitError>> + Send;

    /// The next binary message or the close; control messages are skipped.
    fn receive(&mut self) -> impl Future<Output = Incoming> + Send;
}
