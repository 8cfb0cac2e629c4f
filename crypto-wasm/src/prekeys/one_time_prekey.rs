//! One-time prekeys (OPK): X25519, unsigned, used at most once.

use crate::types::curve25519::{X25519KeyPair, X25519PublicKey};

/// The public part of a one-time prekey.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OneTimePreKeyPublic {
    /// Non-zero identifier, unique per device.
    pub id: u32,
    /// The X25519 public key.
    pub public_key: X25519PublicKey,
}

/// A one-time prekey with its secret half.
#[derive(Clone, Debug)]
pub(crate) struct OneTimePreKey {
    pub(crate) id: u32,
    pub(crate) pair: X25519KeyPair,
}

impl OneTimePreKey {
    pub(crate) fn public(&self) -> OneTimePreKeyPublic {
        OneTimePreKeyPublic {
            id: self.id,
            public_key: self.pair.public(),
        }
    }
}
