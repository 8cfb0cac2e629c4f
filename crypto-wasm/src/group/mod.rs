//! Sender Keys groups (PROTOCOL.md section 6).
//!
//! Each member device has a [`SenderChain`] per group: it encrypts once per
//! message for the whole group, and signs the result with a key of that chain
//! alone. It gives its chain's current state to each other member device as a
//! [`SenderKeyDistribution`] (over the pairwise sessions); they keep it as a
//! [`ReceiverChain`], which verifies the signature before decrypting, skips
//! at most [`MAX_GROUP_SKIPPED_KEYS`] keys and keeps as many for late
//! messages. A member removed from the group misses the next chains: every
//! remaining member starts a new one and distributes it to the others only.

mod control;
mod distribution;
mod message;
mod receiver_chain;
mod sender_chain;

pub use control::group_digest;
pub use distribution::{SENDER_KEY_DISTRIBUTION_LEN, SenderKeyDistribution};
pub use message::{GROUP_MESSAGE_HEADER_LEN, GROUP_MESSAGE_TYPE, GroupMessage};
pub use receiver_chain::ReceiverChain;
pub use sender_chain::SenderChain;

/// Bytes of a group id.
pub const GROUP_ID_LEN: usize = 16;

/// Skipped message keys a receiver keeps per sender chain, and the furthest a
/// message may be ahead of the chain (PROTOCOL.md section 6).
pub const MAX_GROUP_SKIPPED_KEYS: usize = 2000;

/// HKDF info of group message keys.
pub(crate) const GROUP_MESSAGE_KEY_INFO: &[u8] = b"Estafette/v1/group-message-key";
