//! The vault (PROTOCOL.md section 9.2): the account's secrets, sealed under a key only
//! the passphrase yields (through the OPAQUE export key).

use core::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{
    Error, ExportKey, Result,
    rng::random_array,
    roaming::{
        sealed_blob::{Versioned, open_blob, seal_blob},
        vault_contents::VaultContents,
    },
};

const LABEL: &[u8] = b"Estafette/v1/vault";

/// VK = HKDF(salt = zeros(32), ikm = export_key, info = "Estafette/v1/vault", L = 32).
#[derive(Clone)]
pub struct VaultKey(pub(crate) Zeroizing<[u8; 32]>);

impl ExportKey {
    /// The vault key of this export key.
    pub fn vault_key(&self) -> VaultKey {
        let mut vk = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit, so expand cannot fail.
        let _ = Hkdf::<Sha256>::new(Some(&[0u8; 32]), &self.0[..]).expand(LABEL, &mut vk[..]);
        VaultKey(vk)
    }
}

impl VaultKey {
    /// `Vault = 0x01 || version || nonce || AEAD(VK, nonce, contents, aad = "Estafette/v1/vault" || 0x00 || handle || version)`,
    /// with a fresh random nonce. `version` is the compare-and-swap version this write creates.
    pub fn seal(&self, handle: &str, version: u64, contents: &VaultContents) -> Result<Vec<u8>> {
        self.seal_with_nonce(handle, version, contents, &random_array()?)
    }

    pub(crate) fn seal_with_nonce(
        &self,
        handle: &str,
        version: u64,
        contents: &VaultContents,
        nonce: &[u8; 12],
    ) -> Result<Vec<u8>> {
        seal_blob(
            &self.0,
            LABEL,
            handle,
            version,
            nonce,
            &contents.to_bytes()?,
        )
    }

    /// Opens the vault of `handle`. Fails with [`Error::VaultAuthentication`] if it was
    /// sealed for another account, under another passphrase, or altered; with
    /// [`Error::Malformed`] if it opens but its contents do not decode.
    pub fn open(&self, handle: &str, sealed: &[u8]) -> Result<Versioned<VaultContents>> {
        let opened = open_blob(
            &self.0,
            LABEL,
            handle,
            sealed,
            "vault",
            Error::VaultAuthentication,
        )?;
        Ok(Versioned {
            version: opened.version,
            value: VaultContents::from_bytes(&opened.value)?,
        })
    }
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey(..)")
    }
}
