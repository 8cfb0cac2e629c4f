//! What a session's handlers work with: the shared relay, the frames out,
//! who the client is talking to, and its budgets.

use std::sync::Arc;

use crate::session::limits::Limits;
use crate::session::outbound::Outbound;
use crate::state::Shared;

/// One connection, as its handlers see it.
pub struct Connection {
    /// What every session shares.
    pub shared: Arc<Shared>,
    /// Frames to the client.
    pub out: Outbound,
    /// The relay origin the client must sign (`ws://host:port`).
    pub origin: String,
    /// This connection's number in the registry.
    pub id: u64,
    /// Its rate limits.
    pub limits: Limits,
}
