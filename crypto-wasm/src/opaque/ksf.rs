//! The key stretching function of the OPAQUE suite: Argon2id with the normative cost,
//! over the crate's own `argon2` (opaque-ke's `argon2` feature would pull a second version).

use argon2::{Algorithm, Argon2, Params, Version};
use opaque_ke::{
    errors::InternalError,
    generic_array::{ArrayLength, GenericArray},
    ksf::Ksf,
};

use crate::Argon2Params;

/// RFC 9807 stretches the OPRF output with a fixed salt: 16 zero bytes, as opaque-ke's
/// own Argon2 implementation does, so records stay compatible with it.
const SALT: [u8; 16] = [0; 16];

/// Argon2id, m = 64 MiB, t = 3, p = 1 ([`Argon2Params::default`]). [`Default`] is the
/// normative cost, so even a caller that forgot to pass it explicitly gets it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OpaqueKsf {
    params: Argon2Params,
}

impl Ksf for OpaqueKsf {
    fn hash<L: ArrayLength<u8>>(
        &self,
        input: GenericArray<u8, L>,
    ) -> Result<GenericArray<u8, L>, InternalError> {
        let params = Params::new(
            self.params.memory_kib,
            self.params.iterations,
            self.params.parallelism,
            Some(L::USIZE),
        )
        .map_err(|_| InternalError::KsfError)?;
        let mut output = GenericArray::default();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(&input, &SALT, &mut output)
            .map_err(|_| InternalError::KsfError)?;
        Ok(output)
    }
}
