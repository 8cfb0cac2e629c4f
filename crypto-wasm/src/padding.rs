//! Plaintext padding (PROTOCOL.md section 5): `content || 0x80 || zeros` up to a multiple of 160.

use zeroize::Zeroizing;

use crate::{Error, Result};

/// Padded plaintexts are a multiple of this many bytes.
pub const PADDING_BLOCK: usize = 160;

/// Appends 0x80, then zero bytes up to the next multiple of [`PADDING_BLOCK`].
pub fn pad(content: &[u8]) -> Zeroizing<Vec<u8>> {
    pad_to(content, PADDING_BLOCK)
}

/// Removes padding made by [`pad`]; refuses anything else.
pub fn unpad(padded: &[u8]) -> Result<&[u8]> {
    unpad_from(padded, PADDING_BLOCK)
}

/// The section 5 rule with another block size (history segments use 4096).
pub(crate) fn pad_to(content: &[u8], block: usize) -> Zeroizing<Vec<u8>> {
    let len = (content.len() / block + 1) * block;
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.extend_from_slice(content);
    out.push(0x80);
    out.resize(len, 0);
    out
}

/// Removes padding made by [`pad_to`] with the same block; refuses anything else.
pub(crate) fn unpad_from(padded: &[u8], block: usize) -> Result<&[u8]> {
    if padded.is_empty() || !padded.len().is_multiple_of(block) {
        return Err(Error::Padding);
    }
    let marker = padded.iter().rposition(|&b| b != 0).ok_or(Error::Padding)?;
    let (content, tail) = padded.split_at(marker);
    // The marker must be 0x80 and lie in the last block: at most `block` bytes of tail.
    if tail.first() != Some(&0x80) || tail.len() > block {
        return Err(Error::Padding);
    }
    Ok(content)
}
