//! ML-KEM-1024 (FIPS 203). Private keys are kept and stored as their 64-byte seed.

use core::fmt;

use ml_kem::{Decapsulate, DecapsulationKey, EncapsulationKey, KeyExport, MlKem1024, array::Array};
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Result, rng::random_array, types::short_hex};

/// Bytes in an ML-KEM-1024 encapsulation (public) key.
pub const KEM_PUBLIC_KEY_LEN: usize = 1568;
/// Bytes in an ML-KEM-1024 ciphertext.
pub const KEM_CIPHERTEXT_LEN: usize = 1568;

/// An encoded ML-KEM-1024 ciphertext.
pub(crate) type KemCiphertext = Box<[u8; KEM_CIPHERTEXT_LEN]>;

/// An ML-KEM-1024 encapsulation key, as bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct KemPublicKey(pub(crate) Box<[u8; KEM_PUBLIC_KEY_LEN]>);

impl KemPublicKey {
    /// Parses and validates an encapsulation key (FIPS 203 modulus check).
    pub fn from_bytes(bytes: &[u8; KEM_PUBLIC_KEY_LEN]) -> Result<Self> {
        parse_ek(bytes)?;
        Ok(Self(Box::new(*bytes)))
    }

    /// The encoded key.
    pub fn as_bytes(&self) -> &[u8; KEM_PUBLIC_KEY_LEN] {
        &self.0
    }

    /// `(CT, SS) = KEM.encaps(self)`.
    pub(crate) fn encapsulate(&self) -> Result<(KemCiphertext, Zeroizing<[u8; 32]>)> {
        let ek = parse_ek(&self.0)?;
        let mut m = Array::from(random_array::<32>()?);
        let (ct, mut ss) = ek.encapsulate_deterministic(&m);
        m.zeroize();
        let mut ct_bytes = Box::new([0u8; KEM_CIPHERTEXT_LEN]);
        ct_bytes.copy_from_slice(ct.as_slice());
        let mut shared = Zeroizing::new([0u8; 32]);
        shared.copy_from_slice(ss.as_slice());
        ss.zeroize();
        Ok((ct_bytes, shared))
    }
}

fn parse_ek(bytes: &[u8; KEM_PUBLIC_KEY_LEN]) -> Result<EncapsulationKey<MlKem1024>> {
    let key = Array::from(*bytes);
    EncapsulationKey::<MlKem1024>::new(&key).map_err(|_| Error::InvalidPublicKey("ML-KEM"))
}

impl fmt::Debug for KemPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KemPublicKey({}…)", short_hex(&self.0[..]))
    }
}

/// An ML-KEM-1024 key pair, generated from and stored as a 64-byte seed.
#[derive(Clone)]
pub(crate) struct KemKeyPair {
    seed: Zeroizing<[u8; 64]>,
    dk: DecapsulationKey<MlKem1024>,
    public: KemPublicKey,
}

impl KemKeyPair {
    pub(crate) fn generate() -> Result<Self> {
        Ok(Self::from_seed(Zeroizing::new(random_array::<64>()?)))
    }

    pub(crate) fn from_seed(seed: Zeroizing<[u8; 64]>) -> Self {
        let dk = DecapsulationKey::<MlKem1024>::from_seed(Array::from(*seed));
        let mut public = Box::new([0u8; KEM_PUBLIC_KEY_LEN]);
        public.copy_from_slice(dk.encapsulation_key().to_bytes().as_slice());
        Self {
            seed,
            dk,
            public: KemPublicKey(public),
        }
    }

    pub(crate) fn seed(&self) -> &[u8; 64] {
        &self.seed
    }

    pub(crate) fn public(&self) -> &KemPublicKey {
        &self.public
    }

    pub(crate) fn decapsulate(&self, ct: &[u8; KEM_CIPHERTEXT_LEN]) -> Zeroizing<[u8; 32]> {
        let ct = Array::from(*ct);
        let mut ss = self.dk.decapsulate(&ct);
        let mut shared = Zeroizing::new([0u8; 32]);
        shared.copy_from_slice(ss.as_slice());
        ss.zeroize();
        shared
    }
}

impl fmt::Debug for KemKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KemKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}
