//! Frames between the Estafette client and relay.
//!
//! Every WebSocket binary message is one CBOR (RFC 8949) encoded frame. Frames
//! are enums whose variants carry explicit CBOR indices, so adding a variant or
//! an optional field never changes the meaning of existing bytes. Every size a
//! peer controls is bounded by a named constant in [`limits`].
//!
//! With the `crypto` feature, [`prekeys`] converts prekeys and bundles to
//! and from `estafette-crypto`'s types.

mod error;
mod frame;
pub mod limits;
#[cfg(feature = "crypto")]
pub mod prekeys;

pub use error::WireError;
pub use frame::{
    AccountInfo, Bundle, ChallengeAnswer, ClientFrame, Delivery, DeviceId, Envelope, ErrorCode,
    GroupRecipient, GroupSend, Hello, KemPreKey, OneTimePreKey, PreKeyUpload, Register, Send,
    ServerFrame, SignedPreKey, StaleAccount, Welcome,
};

/// The version of the frame vocabulary this crate speaks.
///
/// A client sends it in [`Hello`]; a relay that does not speak it answers
/// [`ErrorCode::UnsupportedVersion`] and closes.
pub const WIRE_VERSION: u16 = 1;

/// Path of the relay's WebSocket endpoint, relative to the site origin.
pub const WEBSOCKET_PATH: &str = "/ws";
