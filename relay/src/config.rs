//! Tunables of every session.

use std::num::NonZeroU32;
use std::time::Duration;

use estafette_wire::limits::MAX_GROUP_ACCOUNTS;

/// Tunables of every session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Frames queued for one socket before the client is judged too slow.
    pub outbound_queue: usize,
    /// Silence allowed from the client.
    pub idle_timeout: Duration,
    /// Time from connection to authentication.
    pub auth_timeout: Duration,
    /// Deliveries sent and not yet acknowledged.
    pub max_in_flight: usize,
    /// Frames per second a connection may send (sustained).
    pub frame_rate: NonZeroU32,
    /// Frames a connection may send in a burst.
    pub frame_burst: NonZeroU32,
    /// Directory searches per minute.
    pub directory_per_minute: NonZeroU32,
    /// Bundle fetches per minute (sustained).
    pub bundles_per_minute: NonZeroU32,
    /// Bundle fetches in a burst: a first message to a 1,000-member group
    /// opens a session with every member at once.
    pub bundle_burst: NonZeroU32,
    /// Below this many one-time prekeys of a kind, the owner is told.
    pub low_prekeys: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            outbound_queue: 256,
            idle_timeout: Duration::from_secs(60),
            auth_timeout: Duration::from_secs(10),
            max_in_flight: 64,
            frame_rate: NonZeroU32::new(2_000).unwrap_or(NonZeroU32::MIN),
            frame_burst: NonZeroU32::new(4_000).unwrap_or(NonZeroU32::MIN),
            directory_per_minute: NonZeroU32::new(120).unwrap_or(NonZeroU32::MIN),
            bundles_per_minute: NonZeroU32::new(120).unwrap_or(NonZeroU32::MIN),
            bundle_burst: NonZeroU32::new(MAX_GROUP_ACCOUNTS as u32).unwrap_or(NonZeroU32::MIN),
            low_prekeys: 20,
        }
    }
}
