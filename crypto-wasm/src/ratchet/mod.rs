//! The Double Ratchet (PROTOCOL.md section 4) and the session built on it.

pub(crate) mod chain_key;
pub(crate) mod double_ratchet;
pub(crate) mod message_key;
pub(crate) mod root_key;
pub(crate) mod session;
pub(crate) mod skipped_keys;

/// Keys skipped within one message's processing, at most.
pub const MAX_SKIP: u32 = 1000;
/// Skipped message keys stored per session, at most; the oldest is evicted first.
pub const MAX_STORED_SKIPPED_KEYS: usize = 2000;
