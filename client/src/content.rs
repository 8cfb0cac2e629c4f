//! What travels inside the encryption (PROTOCOL.md section 5): message id,
//! sent time, sender account and device, and the body. CBOR; the crypto
//! session pads it.

use minicbor::{Decode, Encode};

use crate::group::SignedControl;

/// The longest text a message carries, in UTF-8 bytes: with padding and
/// framing, a `Send` to 15 devices still fits the relay's frame limit.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// A message id: 16 random bytes chosen by the sender.
pub type MessageId = [u8; 16];

/// The body of a message.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Body {
    /// Text typed by a person.
    #[n(0)]
    Text(#[n(0)] String),
    /// These messages reached the recipient's device.
    #[n(1)]
    Delivered(#[n(0)] Vec<ByteId>),
    /// The recipient displayed these messages.
    #[n(2)]
    Read(#[n(0)] Vec<ByteId>),
    /// The sender is typing (true) or stopped (false); never stored.
    #[n(3)]
    Typing(#[n(0)] bool),
    /// Pairwise: the sender's chain in the group `Content::conversation`
    /// (a `SenderKeyDistribution`, PROTOCOL.md section 6).
    #[n(4)]
    SenderKey(#[cbor(n(0), with = "minicbor::bytes")] Vec<u8>),
    /// On a group chain: a signed change to the group.
    #[n(5)]
    GroupControl(#[n(0)] SignedControl),
    /// On a group chain, to new members only: one part of the group's state
    /// (a group of 1,000 does not fit one message).
    #[n(6)]
    GroupWelcome(#[n(0)] WelcomePart),
}

/// One part of a welcome: the bytes of a [`crate::group`] welcome, cut in order.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct WelcomePart {
    /// The same for every part of one welcome.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub welcome_id: [u8; 16],
    /// This part's index, from 0.
    #[n(1)]
    pub index: u16,
    /// How many parts there are.
    #[n(2)]
    pub count: u16,
    /// The bytes.
    #[cbor(n(3), with = "minicbor::bytes")]
    pub bytes: Vec<u8>,
}

/// A message id as a CBOR byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(transparent)]
pub struct ByteId(#[cbor(n(0), with = "minicbor::bytes")] pub MessageId);

/// The plaintext of one message.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Content {
    /// Unique id, for exactly-once display.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub id: MessageId,
    /// When the sender sent it (ms since the Unix epoch).
    #[n(1)]
    pub sent_at_ms: u64,
    /// Sender account handle.
    #[n(2)]
    pub sender: String,
    /// Sender device.
    #[cbor(n(3), with = "minicbor::bytes")]
    pub sender_device: [u8; 16],
    /// Conversation partner seen from the sender: the recipient's handle
    /// (so the sender's own other devices file it in the right conversation),
    /// or the group's conversation id.
    #[n(4)]
    pub conversation: String,
    /// The body.
    #[n(5)]
    pub body: Body,
}

impl Content {
    /// CBOR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match minicbor::encode(self, &mut out) {
            Ok(()) | Err(_) => out,
        }
    }

    /// Decodes, or `None` for anything malformed.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        minicbor::decode(bytes).ok()
    }
}
