//! The mailbox key MK and the sealed mailbox state (PROTOCOL.md section 9.4). The state
//! itself (the mailbox device's DIK, prekeys, sessions, group chains) is the client's.

use core::fmt;

use zeroize::Zeroizing;

use crate::{
    Error, Result,
    rng::random_array,
    roaming::sealed_blob::{Versioned, open_blob, seal_blob},
};

const LABEL: &[u8] = b"Estafette/v1/mailbox";

/// MK: 32 random bytes kept in the vault; seals the mailbox state.
#[derive(Clone)]
pub struct MailboxKey(pub(crate) Zeroizing<[u8; 32]>);

impl MailboxKey {
    /// A fresh random mailbox key.
    pub fn generate() -> Result<Self> {
        Ok(Self(Zeroizing::new(random_array()?)))
    }

    /// `0x01 || version || nonce || AEAD(MK, nonce, state, aad = "Estafette/v1/mailbox" || 0x00 || handle || version)`,
    /// with a fresh random nonce.
    pub fn seal(&self, handle: &str, version: u64, state: &[u8]) -> Result<Vec<u8>> {
        self.seal_with_nonce(handle, version, state, &random_array()?)
    }

    pub(crate) fn seal_with_nonce(
        &self,
        handle: &str,
        version: u64,
        state: &[u8],
        nonce: &[u8; 12],
    ) -> Result<Vec<u8>> {
        seal_blob(&self.0, LABEL, handle, version, nonce, state)
    }

    /// Opens a mailbox state sealed for `handle`; the version comes out authenticated:
    /// compare it with the one the relay announced.
    pub fn open(&self, handle: &str, sealed: &[u8]) -> Result<Versioned<Zeroizing<Vec<u8>>>> {
        open_blob(
            &self.0,
            LABEL,
            handle,
            sealed,
            "mailbox state",
            Error::MailboxAuthentication,
        )
    }
}

impl fmt::Debug for MailboxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MailboxKey(..)")
    }
}
