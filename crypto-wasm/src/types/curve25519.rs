//! X25519 keys (RFC 7748); an all-zero shared secret is an error.

use core::fmt;

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::{Error, Result, rng::random_array, types::short_hex};

/// An X25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct X25519PublicKey(pub(crate) [u8; 32]);

impl X25519PublicKey {
    /// Wraps 32 bytes. Every 32-byte string is a Curve25519 u-coordinate;
    /// low-order points are caught when a Diffie-Hellman output is all zero.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes of the key.
    pub const fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The 32 bytes of the key, borrowed.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for X25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "X25519PublicKey({}…)", short_hex(&self.0))
    }
}

/// A 32-byte secret produced by a key agreement, wiped on drop.
pub(crate) type SharedSecret = Zeroizing<[u8; 32]>;

/// An X25519 key pair. The secret half zeroizes on drop (x25519-dalek).
#[derive(Clone)]
pub(crate) struct X25519KeyPair {
    secret: StaticSecret,
    public: X25519PublicKey,
}

impl X25519KeyPair {
    pub(crate) fn generate() -> Result<Self> {
        let seed = Zeroizing::new(random_array::<32>()?);
        Ok(Self::from_secret_bytes(*seed))
    }

    pub(crate) fn from_secret_bytes(bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        let public = X25519PublicKey(PublicKey::from(&secret).to_bytes());
        Self { secret, public }
    }

    pub(crate) fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    pub(crate) fn public(&self) -> X25519PublicKey {
        self.public
    }

    /// DH(self, their): refuses an all-zero output (a low-order peer key).
    pub(crate) fn diffie_hellman(&self, their: &X25519PublicKey) -> Result<SharedSecret> {
        let shared = self.secret.diffie_hellman(&PublicKey::from(their.0));
        if !shared.was_contributory() {
            return Err(Error::NonContributoryKey);
        }
        Ok(Zeroizing::new(shared.to_bytes()))
    }
}

impl fmt::Debug for X25519KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("X25519KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}
