//! Estafette end-to-end cryptography, as specified by PROTOCOL.md.
//!
//! Pure Rust, no I/O, no async; builds natively and for `wasm32-unknown-unknown`.

/// The protocol version this crate implements (PROTOCOL.md, version 1).
pub const PROTOCOL_VERSION: u8 = 1;
