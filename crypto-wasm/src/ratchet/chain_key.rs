//! Chain keys and KDF_CK, shared by pairwise sessions and (later) sender-key groups.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{Error, Result, ratchet::message_key::MessageKey};

/// `HMAC-SHA256(key, [byte])`.
fn hmac_byte(key: &[u8; 32], byte: u8) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // HMAC accepts keys of any length, so new_from_slice cannot fail.
    if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) {
        mac.update(&[byte]);
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

/// `KDF_CK(ck) = (ck' = HMAC(ck, 0x02), mk = HMAC(ck, 0x01))`.
pub(crate) fn kdf_ck(ck: &[u8; 32]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    (hmac_byte(ck, 0x02), hmac_byte(ck, 0x01))
}

/// A sending or receiving chain key with the index of the next message key it yields.
#[derive(Clone)]
pub(crate) struct ChainKey {
    pub(crate) key: Zeroizing<[u8; 32]>,
    pub(crate) index: u32,
}

impl ChainKey {
    pub(crate) fn new(key: [u8; 32], index: u32) -> Self {
        Self {
            key: Zeroizing::new(key),
            index,
        }
    }

    /// The message key for `self.index`, and the chain key for the next index.
    pub(crate) fn step(&self) -> Result<(MessageKey, ChainKey)> {
        let index = self.index.checked_add(1).ok_or(Error::CounterExhausted)?;
        let (next, mk) = kdf_ck(&self.key);
        Ok((MessageKey::new(*mk), ChainKey { key: next, index }))
    }
}
