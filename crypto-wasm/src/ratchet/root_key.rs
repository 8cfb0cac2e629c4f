//! The root key and KDF_RK.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::ratchet::chain_key::ChainKey;

const INFO: &[u8] = b"Estafette/v1/root";

/// RK: advanced by every Diffie-Hellman ratchet step.
#[derive(Clone)]
pub(crate) struct RootKey(pub(crate) Zeroizing<[u8; 32]>);

impl RootKey {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// `KDF_RK(rk, dh_out) = HKDF(salt = rk, ikm = dh_out, info = "Estafette/v1/root", L = 64)`.
    pub(crate) fn advance(&self, dh_out: &[u8; 32]) -> (RootKey, ChainKey) {
        let mut okm = Zeroizing::new([0u8; 64]);
        // 64 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        let _ = Hkdf::<Sha256>::new(Some(&self.0[..]), dh_out).expand(INFO, &mut okm[..]);
        let (rk, ck) = okm.split_at(32);
        let mut root = [0u8; 32];
        root.copy_from_slice(rk);
        let mut chain = [0u8; 32];
        chain.copy_from_slice(ck);
        let out = (RootKey::new(root), ChainKey::new(chain, 0));
        zeroize::Zeroize::zeroize(&mut root);
        zeroize::Zeroize::zeroize(&mut chain);
        out
    }
}
