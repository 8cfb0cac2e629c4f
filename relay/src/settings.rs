use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How the relay runs; filled from flags and environment by the CLI.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the HTTP and WebSocket server listens on.
    pub listen: SocketAddr,
    /// Directory of the embedded store (SQLite database and its journal).
    pub data_dir: PathBuf,
    /// Built web app to serve (`trunk build` output), if any.
    pub site_dir: Option<PathBuf>,
    /// Frames queued for one socket before the relay gives up on a slow client.
    pub outbound_queue: usize,
    /// How long a connection may stay silent before the relay closes it.
    pub idle_timeout: Duration,
}

impl Settings {
    /// Settings for tests and embedding: loopback, port chosen by the OS.
    pub fn ephemeral(data_dir: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            site_dir: None,
            outbound_queue: DEFAULT_OUTBOUND_QUEUE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Default bound of a socket's outbound queue, in frames.
pub const DEFAULT_OUTBOUND_QUEUE: usize = 64;
/// Default idle timeout; clients ping every 20 s.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// WebSocket read buffer per socket (tungstenite's default is 128 KiB).
pub const READ_BUFFER_BYTES: usize = 8 * 1024;
/// WebSocket write buffer per socket before a flush.
pub const WRITE_BUFFER_BYTES: usize = 8 * 1024;
