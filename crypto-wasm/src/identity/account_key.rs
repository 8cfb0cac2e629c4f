//! The account identity key (AIK), Ed25519: one per account.

use core::fmt;

use zeroize::Zeroizing;

use crate::{
    Result,
    codec::{Reader, Writer},
    types::ed25519::{AccountPublicKey, Ed25519SigningKey},
};

const FORMAT_VERSION: u8 = 1;

/// An account: its identity key pair. Every device of the account holds it.
#[derive(Clone)]
pub struct Account {
    pub(crate) aik: Ed25519SigningKey,
}

impl Account {
    /// Creates a new account identity.
    pub fn generate() -> Result<Self> {
        Ok(Self {
            aik: Ed25519SigningKey::generate()?,
        })
    }

    /// The account's public identity key, from which safety numbers are computed.
    pub fn public_key(&self) -> AccountPublicKey {
        self.aik.public()
    }

    /// Serializes the account for storage: `0x01 || AIK seed(32)`. Seal it before storing.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(FORMAT_VERSION);
        w.bytes(&self.aik.seed()[..]);
        w.finish()
    }

    /// Restores an account serialized by [`Account::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_version(bytes, "saved account", FORMAT_VERSION)?;
        let seed = Zeroizing::new(r.array::<32>()?);
        r.finish()?;
        Ok(Self {
            aik: Ed25519SigningKey::from_seed(&seed),
        })
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}
