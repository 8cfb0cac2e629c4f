//! The relay's long-term OPAQUE secrets: OPRF seed, key pair, and the public key that
//! fake records for unknown handles carry.

use core::fmt;

use zeroize::Zeroizing;

use crate::{
    Error, Result,
    opaque::{rng::with_os_rng, suite::Suite},
};

/// Bytes in a serialized [`ServerSetup`]: OPRF seed(64) || private key(32) || fake-record public key(32).
pub const SERVER_SETUP_LEN: usize = 128;

/// The relay's OPAQUE setup. Generated once, kept in its own file (mode 0600) beside the
/// database and never inside it, so a database dump alone allows no offline guessing.
pub struct ServerSetup(pub(crate) opaque_ke::ServerSetup<Suite>);

impl ServerSetup {
    /// A fresh setup.
    pub fn generate() -> Result<Self> {
        with_os_rng(|rng| Ok(Self(opaque_ke::ServerSetup::new(rng))))
    }

    /// The secret bytes to store in the setup file.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.serialize().to_vec())
    }

    /// Restores a setup from [`ServerSetup::to_bytes`]; refuses any other length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let malformed = |why| Error::Malformed {
            what: "OPAQUE server setup",
            why,
        };
        if bytes.len() != SERVER_SETUP_LEN {
            return Err(malformed("it does not have the expected length"));
        }
        opaque_ke::ServerSetup::deserialize(bytes)
            .map(Self)
            .map_err(|_| malformed("it holds an invalid key"))
    }
}

impl fmt::Debug for ServerSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSetup(..)")
    }
}
