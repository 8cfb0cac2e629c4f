//! How the engine reaches the relay: a `Transport` opens a `Link` that carries
//! binary frames. The browser uses gloo-net; native code (tests, tools) uses
//! tokio-tungstenite.

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(not(target_arch = "wasm32"))]
mod native;

use std::future::Future;

#[cfg(target_arch = "wasm32")]
pub(crate) use browser::close_and_wait;
#[cfg(target_arch = "wasm32")]
pub use browser::{BrowserLink, BrowserTransport};
#[cfg(not(target_arch = "wasm32"))]
pub use native::{NativeLink, NativeTransport};
use thiserror::Error;

/// Why a link failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// The relay could not be reached.
    #[error("The relay cannot be reached: {0}")]
    Connect(String),
    /// The link closed (with the WebSocket close code, if any).
    #[error("The connection to the relay closed (code {0:?}).")]
    Closed(Option<u16>),
    /// Sending failed.
    #[error("A frame could not be sent: {0}")]
    Send(String),
}

/// An open link carrying binary frames.
pub trait Link {
    /// Sends one frame.
    fn send(&mut self, frame: Vec<u8>) -> impl Future<Output = Result<(), LinkError>>;
    /// The next frame, or why the link ended.
    fn recv(&mut self) -> impl Future<Output = Result<Vec<u8>, LinkError>>;
}

/// Opens links to a relay.
pub trait Transport {
    /// The link type.
    type Link: Link;
    /// Connects to `url` (`ws://host:port/ws`).
    fn connect(&self, url: &str) -> impl Future<Output = Result<Self::Link, LinkError>>;
}

/// The origin a device signs for `url`: scheme, host and port, no path
/// (`wss://relay.example.gouv.fr/ws` → `wss://relay.example.gouv.fr`).
pub fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!(
            "{scheme}://{}",
            rest.split(['/', '?', '#']).next().unwrap_or_default()
        ),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origin_drops_path_and_query() {
        assert_eq!(origin_of("wss://relay.gouv.fr/ws"), "wss://relay.gouv.fr");
        assert_eq!(
            origin_of("ws://127.0.0.1:8080/ws?x=1"),
            "ws://127.0.0.1:8080"
        );
        assert_eq!(origin_of("ws://h:1"), "ws://h:1");
    }
}
