//! Randomness from the OS, or `crypto.getRandomValues` in the browser.

use crate::Error;

/// Fills an array with fresh random bytes.
pub(crate) fn random_array<const N: usize>() -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| Error::Rng)?;
    Ok(out)
}
