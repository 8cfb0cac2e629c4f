//! Why a test kit operation failed.

use thiserror::Error;

/// Why a test kit operation failed.
#[derive(Debug, Error)]
pub enum KitError {
    /// Key generation or signing failed.
    #[error("The cryptography failed: {0}")]
    Crypto(#[from] estafette_crypto::Error),
    /// The relay's store refused or failed.
    #[error("The relay's store failed: {0}")]
    Store(#[from] estafette_relay::StoreError),
    /// An invitation was refused by the store.
    #[error("The invitation for {handle} was refused: {why}.")]
    InviteRefused {
        /// The handle.
        handle: String,
        /// The refusal.
        why: String,
    },
    /// A socket, a process or a file failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The WebSocket failed.
    #[error("The WebSocket failed: {0}")]
    WebSocket(String),
    /// The relay closed the connection.
    #[error("The relay closed the connection (close code {0:?}).")]
    Closed(Option<u16>),
    /// Nothing came in time.
    #[error("Nothing came from the relay within {0:?}.")]
    Timeout(std::time::Duration),
    /// The relay sent bytes that are not a frame.
    #[error("The relay sent an undecodable frame: {0}")]
    Undecodable(estafette_wire::WireError),
    /// The relay answered something else than expected.
    #[error("Expected {expected}, the relay sent {got}.")]
    Unexpected {
        /// What was expected.
        expected: &'static str,
        /// What came (a frame kind, or an error code and detail).
        got: String,
    },
    /// The relay process did not print its address.
    #[error("The relay did not start (it printed {printed:?}); its log:\n{log}")]
    NoStart {
        /// Its first line on stdout.
        printed: String,
        /// Its log, if it was kept.
        log: String,
    },
    /// An admin command failed.
    #[error("estafette-relay {args} failed: {stderr}")]
    Admin {
        /// The command's arguments.
        args: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A source file of the module graph could not be read or parsed.
    #[error("The source file {path} cannot be read as Rust: {why}")]
    Source {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
}

impl KitError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }
}
