//! Typed keys: newtypes over the primitive crates, secret halves wiped on drop.

pub(crate) mod curve25519;
pub(crate) mod ed25519;
pub(crate) mod ml_kem;

/// The first bytes of a public value in hex, for `Debug` output.
pub(crate) fn short_hex(bytes: &[u8]) -> String {
    bytes.iter().take(6).map(|b| format!("{b:02x}")).collect()
}
