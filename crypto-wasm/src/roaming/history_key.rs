//! The history key HK (PROTOCOL.md section 9.4): seals history segments.

use core::fmt;

use zeroize::Zeroizing;

use crate::{Result, rng::random_array};

/// HK: 32 random bytes kept in the vault. Each segment's key and nonce are derived from
/// it and the segment's fresh id ([`HistoryKey::seal_segment`](crate::HistoryKey::seal_segment)).
#[derive(Clone)]
pub struct HistoryKey(pub(crate) Zeroizing<[u8; 32]>);

impl HistoryKey {
    /// A fresh random history key.
    pub fn generate() -> Result<Self> {
        Ok(Self(Zeroizing::new(random_array()?)))
    }
}

impl fmt::Debug for HistoryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HistoryKey(..)")
    }
}
