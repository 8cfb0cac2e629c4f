//! Wire formats of pairwise messages.

pub(crate) mod prekey_message;
pub(crate) mod ratchet_message;

/// First byte of a [`RatchetMessage`](crate::RatchetMessage).
pub const RATCHET_MESSAGE_TYPE: u8 = 0x01;
/// First byte of a [`PreKeyMessage`](crate::PreKeyMessage).
pub const PREKEY_MESSAGE_TYPE: u8 = 0x02;

/// What kind of pairwise message a byte string claims to be, from its first byte.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MessageKind {
    /// Starts a session (or repeats its start until the responder answers).
    PreKey,
    /// A message of an established session.
    Ratchet,
}

impl MessageKind {
    /// Classifies `bytes` without decoding them; `None` if the type byte is unknown.
    pub fn of(bytes: &[u8]) -> Option<Self> {
        match bytes.first() {
            Some(&PREKEY_MESSAGE_TYPE) => Some(Self::PreKey),
            Some(&RATCHET_MESSAGE_TYPE) => Some(Self::Ratchet),
            _ => None,
        }
    }
}
