//! Where the relay's randomness comes from: the operating system, or what a
//! test injects to prove the relay fails closed without it.

use thiserror::Error;

/// The randomness source gave nothing.
#[derive(Debug, Error)]
#[error("The system's random number generator failed: {0}")]
pub struct EntropyError(pub String);

/// Fills buffers with unpredictable bytes.
pub trait Entropy: Send + Sync + 'static {
    /// Fills `bytes`, or says why it cannot.
    fn fill(&self, bytes: &mut [u8]) -> Result<(), EntropyError>;
}

/// The operating system's generator (`getrandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, bytes: &mut [u8]) -> Result<(), EntropyError> {
        getrandom::fill(bytes).map_err(|error| EntropyError(error.to_string()))
    }
}
