//! Keys at rest (PROTOCOL.md section 8): sealed IndexedDB records and the wrapped storage key.

use core::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::{
    Error, Result,
    codec::{Reader, Writer},
    ratchet::message_key::{open, seal},
    rng::random_array,
};

const RECORD_VERSION: u8 = 1;
const WRAP_VERSION: u8 = 1;
/// Bytes a sealed record adds to its plaintext: version(1) + nonce(12) + tag(16).
pub const SEALED_RECORD_OVERHEAD: usize = 29;
/// Bytes in a wrapped storage key.
pub const WRAPPED_STORAGE_KEY_LEN: usize = 1 + 12 + 16 + 12 + 32 + 16;
const MAX_MEMORY_KIB: u32 = 1 << 20;
const MAX_ITERATIONS: u32 = 64;
const MAX_PARALLELISM: u32 = 16;

/// Argon2id cost parameters. [`Default`] is the normative setting:
/// m = 64 MiB, t = 3, p = 1 (output 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl Argon2Params {
    fn check(&self) -> Result<Params> {
        if self.memory_kib > MAX_MEMORY_KIB
            || self.iterations == 0
            || self.iterations > MAX_ITERATIONS
            || self.parallelism == 0
            || self.parallelism > MAX_PARALLELISM
        {
            return Err(Error::Argon2Params);
        }
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|_| Error::Argon2Params)
    }

    /// `KEK = Argon2id(passphrase, salt, m, t, p, L = 32)`.
    pub(crate) fn derive_kek(
        &self,
        passphrase: &[u8],
        salt: &[u8; 16],
    ) -> Result<Zeroizing<[u8; 32]>> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.check()?);
        let mut kek = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase, salt, &mut kek[..])
            .map_err(|_| Error::Argon2Params)?;
        Ok(kek)
    }
}

/// The 32-byte key that seals every stored record. Dropping it (locking) wipes it.
pub struct StorageKey(pub(crate) Zeroizing<[u8; 32]>);

/// AAD of a sealed record: `0x01 || u32(len(store)) || store || u32(len(key)) || key`.
fn record_aad(store: &str, key: &[u8]) -> Vec<u8> {
    let mut w = Writer::new(RECORD_VERSION);
    w.len(store.len())
        .bytes(store.as_bytes())
        .len(key.len())
        .bytes(key);
    w.finish().to_vec()
}

impl StorageKey {
    /// A fresh random storage key.
    pub fn generate() -> Result<Self> {
        Ok(Self(Zeroizing::new(random_array()?)))
    }

    /// Seals a record for object store `store` under record key `key`:
    /// `0x01 || nonce(12) || ChaCha20-Poly1305(ct || tag)`.
    pub fn seal(&self, store: &str, key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        self.seal_with_nonce(store, key, plaintext, &random_array()?)
    }

    pub(crate) fn seal_with_nonce(
        &self,
        store: &str,
        key: &[u8],
        plaintext: &[u8],
        nonce: &[u8; 12],
    ) -> Result<Vec<u8>> {
        let ct = seal(&self.0, nonce, plaintext, &record_aad(store, key))?;
        let mut out = Vec::with_capacity(SEALED_RECORD_OVERHEAD + plaintext.len());
        out.push(RECORD_VERSION);
        out.extend_from_slice(nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a record sealed by [`StorageKey::seal`] for the same store and key.
    pub fn open(&self, store: &str, key: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let mut r = Reader::with_version(sealed, "sealed record", RECORD_VERSION)?;
        let nonce = r.array::<12>()?;
        let ct = r.rest();
        open(
            &self.0,
            &nonce,
            ct,
            &record_aad(store, key),
            Error::RecordAuthentication,
        )
    }

    /// Wraps the storage key under a passphrase:
    /// `0x01 || m_kib(u32) || t(u32) || p(u32) || salt(16) || nonce(12) || ct(32) || tag(16)`,
    /// the first 29 bytes being the AEAD's AAD.
    pub fn wrap(&self, passphrase: &[u8], params: &Argon2Params) -> Result<Vec<u8>> {
        self.wrap_with(passphrase, params, &random_array()?, &random_array()?)
    }

    pub(crate) fn wrap_with(
        &self,
        passphrase: &[u8],
        params: &Argon2Params,
        salt: &[u8; 16],
        nonce: &[u8; 12],
    ) -> Result<Vec<u8>> {
        let kek = params.derive_kek(passphrase, salt)?;
        let mut w = Writer::new(WRAP_VERSION);
        w.u32(params.memory_kib)
            .u32(params.iterations)
            .u32(params.parallelism)
            .bytes(salt);
        let header = w.finish();
        let ct = seal(&kek, nonce, &self.0[..], &header)?;
        let mut out = Vec::with_capacity(WRAPPED_STORAGE_KEY_LEN);
        out.extend_from_slice(&header);
        out.extend_from_slice(nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Unwraps a key wrapped by [`StorageKey::wrap`] (unlock).
    pub fn unwrap(wrapped: &[u8], passphrase: &[u8]) -> Result<Self> {
        let mut r = Reader::with_version(wrapped, "wrapped storage key", WRAP_VERSION)?;
        let params = Argon2Params {
            memory_kib: r.u32()?,
            iterations: r.u32()?,
            parallelism: r.u32()?,
        };
        let salt = r.array::<16>()?;
        let nonce = r.array::<12>()?;
        let ct = r.array::<48>()?;
        r.finish()?;
        let header = wrapped.get(..29).ok_or(Error::WrongPassphrase)?;
        let kek = params.derive_kek(passphrase, &salt)?;
        let key = open(&kek, &nonce, &ct, header, Error::WrongPassphrase)?;
        let bytes: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| Error::WrongPassphrase)?;
        Ok(Self(Zeroizing::new(bytes)))
    }

    /// The parameters a wrapped key was made with, e.g. to decide to re-wrap it.
    pub fn wrapped_params(wrapped: &[u8]) -> Result<Argon2Params> {
        let mut r = Reader::with_version(wrapped, "wrapped storage key", WRAP_VERSION)?;
        Ok(Argon2Params {
            memory_kib: r.u32()?,
            iterations: r.u32()?,
            parallelism: r.u32()?,
        })
    }

    #[cfg(test)]
    pub(crate) fn from_bytes_for_test(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }
}

impl fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StorageKey(..)")
    }
}
