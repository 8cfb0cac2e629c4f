use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;

use crate::config::SessionConfig;
use crate::store::StoreLimits;

/// How the relay runs; filled from flags and environment by the CLI.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the HTTP and WebSocket server listens on.
    pub listen: SocketAddr,
    /// Directory of the embedded store (SQLite database and its journal).
    pub data_dir: PathBuf,
    /// Built web app to serve (`trunk build` output), if any.
    pub site_dir: Option<PathBuf>,
    /// Origins clients see the relay at (`wss://relay.example.gouv.fr`), which
    /// they sign when they authenticate. Empty: `ws://<listen>` (and
    /// `ws://localhost:<port>` on loopback), for development.
    pub public_origins: Vec<String>,
    /// New WebSocket connections per second from one IP address.
    pub connections_per_ip: NonZeroU32,
    /// Session tunables.
    pub session: SessionConfig,
    /// Store limits.
    pub limits: StoreLimits,
}

impl Settings {
    /// Settings for tests and embedding: loopback, port chosen by the OS.
    pub fn ephemeral(data_dir: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            site_dir: None,
            public_origins: Vec::new(),
            connections_per_ip: NonZeroU32::new(1_000).unwrap_or(NonZeroU32::MIN),
            session: SessionConfig::default(),
            limits: StoreLimits::default(),
        }
    }
}

/// WebSocket read buffer per socket (tungstenite's default is 128 KiB).
pub const READ_BUFFER_BYTES: usize = 4 * 1024;
/// WebSocket write buffer per socket before a flush.
pub const WRITE_BUFFER_BYTES: usize = 8 * 1024;
