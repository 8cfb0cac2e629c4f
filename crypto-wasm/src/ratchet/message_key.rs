//! Message keys: expanded into an AEAD key and nonce, used exactly once.

use chacha20poly1305::{ChaCha20Poly1305, KeyInit, aead::Aead, aead::Payload};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{Error, Result};

const INFO: &[u8] = b"Estafette/v1/message-key";

/// `mk` from KDF_CK.
#[derive(Clone)]
pub(crate) struct MessageKey(pub(crate) Zeroizing<[u8; 32]>);

/// `okm = HKDF(salt = zeros(32), ikm = mk, info, L = 44)`: key `okm[0..32]`, nonce `okm[32..44]`.
pub(crate) fn expand(mk: &[u8; 32], info: &[u8]) -> (Zeroizing<[u8; 32]>, [u8; 12]) {
    let mut okm = Zeroizing::new([0u8; 44]);
    // 44 bytes is far below HKDF-SHA256's limit, so expand cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(&[0u8; 32]), mk).expand(info, &mut okm[..]);
    let (k, n) = okm.split_at(32);
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(k);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(n);
    (key, nonce)
}

/// ChaCha20-Poly1305 seal with the given key material.
pub(crate) fn seal(key: &[u8; 32], nonce: &[u8; 12], pt: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let cipher = ChaCha20Poly1305::new(&(*key).into());
    cipher
        .encrypt(&(*nonce).into(), Payload { msg: pt, aad })
        .map_err(|_| Error::PlaintextTooLong)
}

/// ChaCha20-Poly1305 open; `err` is returned on authentication failure.
pub(crate) fn open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    ct: &[u8],
    aad: &[u8],
    err: Error,
) -> Result<Zeroizing<Vec<u8>>> {
    let cipher = ChaCha20Poly1305::new(&(*key).into());
    cipher
        .decrypt(&(*nonce).into(), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| err)
}

impl MessageKey {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// `ct = AEAD.seal(key, nonce, pt, aad)`.
    pub(crate) fn encrypt(&self, pt: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let (key, nonce) = expand(&self.0, INFO);
        seal(&key, &nonce, pt, aad)
    }

    pub(crate) fn decrypt(&self, ct: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let (key, nonce) = expand(&self.0, INFO);
        open(&key, &nonce, ct, aad, Error::Authentication)
    }
}
