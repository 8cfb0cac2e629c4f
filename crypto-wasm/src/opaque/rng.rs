//! The `rand_core` 0.6 generator opaque-ke asks for, drawing from the crate's `getrandom`
//! (so no second `getrandom` and no second browser backend is linked).

use opaque_ke::rand::{CryptoRng, Error as RandError, RngCore};

use crate::{Error, Result};

/// OS randomness. `fill_bytes` cannot fail in `rand_core`'s API, so a failure is
/// remembered and [`with_os_rng`] throws away everything computed with it.
pub(crate) struct OsRng {
    failed: bool,
}

impl RngCore for OsRng {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0u8; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if getrandom::fill(dest).is_err() {
            self.failed = true;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> core::result::Result<(), RandError> {
        getrandom::fill(dest).map_err(|_| {
            self.failed = true;
            RandError::from(core::num::NonZeroU32::MIN.saturating_add(RandError::CUSTOM_START))
        })
    }
}

impl CryptoRng for OsRng {}

/// Runs `f` with OS randomness; its result is refused if the generator failed meanwhile.
pub(crate) fn with_os_rng<T>(f: impl FnOnce(&mut OsRng) -> Result<T>) -> Result<T> {
    let mut rng = OsRng { failed: false };
    let out = f(&mut rng);
    if rng.failed {
        return Err(Error::Rng);
    }
    out
}
