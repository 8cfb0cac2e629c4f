//! The versioned sealed blob of the vault and the mailbox state:
//! `0x01 || version(u64) || nonce(12) || AEAD(key, nonce, plaintext, aad = label || 0x00 || handle || version)`.

use zeroize::Zeroizing;

use crate::{
    Error, Result,
    codec::Reader,
    ratchet::message_key::{open, seal},
};

const FORMAT: u8 = 1;
/// Bytes a vault or mailbox state adds to its plaintext: format(1) + version(8) + nonce(12) + tag(16).
pub const SEALED_BLOB_OVERHEAD: usize = 37;

/// A value read from a versioned blob, with the version it was sealed under.
#[derive(Debug)]
pub struct Versioned<T> {
    /// The compare-and-swap version the blob was sealed with (authenticated).
    pub version: u64,
    /// What the blob holds.
    pub value: T,
}

/// `label || 0x00 || handle_utf8 || version`: the label and the version are fixed-length
/// around the handle, so the encoding is unambiguous.
fn aad(label: &[u8], handle: &str, version: u64) -> Vec<u8> {
    [label, &[0], handle.as_bytes(), &version.to_be_bytes()].concat()
}

pub(crate) fn seal_blob(
    key: &[u8; 32],
    label: &[u8],
    handle: &str,
    version: u64,
    nonce: &[u8; 12],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let ct = seal(key, nonce, plaintext, &aad(label, handle, version))?;
    let mut out = Vec::with_capacity(SEALED_BLOB_OVERHEAD + plaintext.len());
    out.push(FORMAT);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

pub(crate) fn open_blob(
    key: &[u8; 32],
    label: &[u8],
    handle: &str,
    sealed: &[u8],
    what: &'static str,
    failed: Error,
) -> Result<Versioned<Zeroizing<Vec<u8>>>> {
    let mut r = Reader::with_version(sealed, what, FORMAT)?;
    let version = r.u64()?;
    let nonce = r.array::<12>()?;
    let ct = r.rest();
    if ct.len() < 16 {
        return Err(r.malformed("it is shorter than an authentication tag"));
    }
    let value = open(key, &nonce, ct, &aad(label, handle, version), failed)?;
    Ok(Versioned { version, value })
}

/// The version a vault or mailbox state claims, read without a key, e.g. for the relay's
/// compare-and-swap. Only opening the blob authenticates it.
pub fn sealed_version(sealed: &[u8]) -> Result<u64> {
    let mut r = Reader::with_version(sealed, "sealed vault or mailbox state", FORMAT)?;
    let version = r.u64()?;
    if sealed.len() < SEALED_BLOB_OVERHEAD {
        return Err(r.malformed("it is shorter than its fixed fields"));
    }
    Ok(version)
}
