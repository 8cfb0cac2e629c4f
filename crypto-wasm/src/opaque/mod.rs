//! OPAQUE (RFC 9807) with the cipher suite of PROTOCOL.md section 9.1, over `opaque-ke`.
//!
//! Client side: [`ClientRegistration`], [`ClientLogin`]. Relay side: [`ServerSetup`],
//! [`ServerLogin`]. Every message crosses the network as fixed-length bytes.

pub(crate) mod keys;
pub(crate) mod ksf;
pub(crate) mod login;
pub(crate) mod messages;
pub(crate) mod registration;
pub(crate) mod rng;
pub(crate) mod server_setup;
pub(crate) mod suite;
