//! Prekeys between the wire and `estafette-crypto` (feature `crypto`): the one
//! conversion every crate uses, so a bundle means the same thing everywhere.
//!
//! Crypto to wire cannot fail (`From`). Wire to crypto checks what the wire
//! leaves open: the certificate's encoding and the ML-KEM key's length and
//! validity (`TryFrom`, [`kem_prekey`]). Neither verifies a signature: call
//! `PreKeyBundle::verify` or `verify` on each key.

use estafette_crypto::{
    DeviceCertificate, KEM_PUBLIC_KEY_LEN, KemPreKeyPublic, KemPublicKey, OneTimePreKeyPublic,
    PreKeyBundle, SignedPreKeyPublic, X25519PublicKey,
};
use thiserror::Error;

use crate::{Bundle, KemPreKey, OneTimePreKey, SignedPreKey};

/// Why prekeys from the wire are not valid crypto prekeys.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PreKeyError {
    /// The ML-KEM key does not have the length of an ML-KEM-1024 key.
    #[error("The ML-KEM prekey {id} is {size} bytes long instead of {KEM_PUBLIC_KEY_LEN}.")]
    KemKeyLength {
        /// The prekey's id.
        id: u32,
        /// Its length.
        size: usize,
    },
    /// The ML-KEM key has the right length but is not a valid encapsulation key.
    #[error("The ML-KEM prekey {id} is not a valid encapsulation key.")]
    KemKey {
        /// The prekey's id.
        id: u32,
    },
    /// The bundle's device certificate cannot be decoded.
    #[error("The bundle's device certificate cannot be decoded: {0}")]
    Certificate(estafette_crypto::Error),
}

impl From<&SignedPreKeyPublic> for SignedPreKey {
    fn from(key: &SignedPreKeyPublic) -> Self {
        Self {
            id: key.id,
            public_key: key.public_key.to_bytes(),
            signature: key.signature,
        }
    }
}

impl From<&SignedPreKey> for SignedPreKeyPublic {
    fn from(key: &SignedPreKey) -> Self {
        Self {
            id: key.id,
            public_key: X25519PublicKey::from_bytes(key.public_key),
            signature: key.signature,
        }
    }
}

impl From<&OneTimePreKeyPublic> for OneTimePreKey {
    fn from(key: &OneTimePreKeyPublic) -> Self {
        Self {
            id: key.id,
            public_key: key.public_key.to_bytes(),
        }
    }
}

impl From<&OneTimePreKey> for OneTimePreKeyPublic {
    fn from(key: &OneTimePreKey) -> Self {
        Self {
            id: key.id,
            public_key: X25519PublicKey::from_bytes(key.public_key),
        }
    }
}

/// The wire form drops `one_time`: a bundle carries it beside the key, an
/// upload by the list the key is in.
impl From<&KemPreKeyPublic> for KemPreKey {
    fn from(key: &KemPreKeyPublic) -> Self {
        Self {
            id: key.id,
            public_key: key.public_key.as_bytes().to_vec(),
            signature: key.signature,
        }
    }
}

/// The crypto form of a wire ML-KEM prekey; `one_time` selects its signature
/// context (a one-time key, or the last-resort one).
pub fn kem_prekey(key: &KemPreKey, one_time: bool) -> Result<KemPreKeyPublic, PreKeyError> {
    let bytes: &[u8; KEM_PUBLIC_KEY_LEN] =
        key.public_key
            .as_slice()
            .try_into()
            .map_err(|_| PreKeyError::KemKeyLength {
                id: key.id,
                size: key.public_key.len(),
            })?;
    Ok(KemPreKeyPublic {
        id: key.id,
        public_key: KemPublicKey::from_bytes(bytes)
            .map_err(|_| PreKeyError::KemKey { id: key.id })?,
        signature: key.signature,
        one_time,
    })
}

impl TryFrom<&Bundle> for PreKeyBundle {
    type Error = PreKeyError;

    fn try_from(bundle: &Bundle) -> Result<Self, PreKeyError> {
        Ok(Self {
            certificate: DeviceCertificate::decode(&bundle.certificate)
                .map_err(PreKeyError::Certificate)?,
            signed_prekey: (&bundle.signed_prekey).into(),
            kem_prekey: kem_prekey(&bundle.kem_prekey, bundle.kem_one_time)?,
            one_time_prekey: bundle.one_time.as_ref().map(Into::into),
        })
    }
}

impl From<&PreKeyBundle> for Bundle {
    fn from(bundle: &PreKeyBundle) -> Self {
        Self {
            certificate: bundle.certificate.encode().to_vec(),
            signed_prekey: (&bundle.signed_prekey).into(),
            kem_prekey: (&bundle.kem_prekey).into(),
            kem_one_time: bundle.kem_prekey.one_time,
            one_time: bundle.one_time_prekey.as_ref().map(Into::into),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use estafette_crypto::{Account, Device, DeviceId, PreKeyStore};

    use super::*;

    /// A device's bundle with one-time keys of both kinds, as its owner makes it.
    fn bundle() -> (Account, PreKeyBundle) {
        let account = Account::generate().unwrap();
        let device = Device::generate(&account, DeviceId::generate().unwrap(), 1).unwrap();
        let mut store = PreKeyStore::new(&account, &device, 1).unwrap();
        store.generate_one_time_prekeys(1).unwrap();
        store.generate_kem_one_time_prekeys(&account, 1, 1).unwrap();
        let bundle = store.bundle(&device).unwrap();
        (account, bundle)
    }

    #[test]
    fn a_bundle_survives_the_wire_and_still_verifies() {
        let (account, bundle) = bundle();
        assert!(bundle.kem_prekey.one_time && bundle.one_time_prekey.is_some());
        let wire = Bundle::from(&bundle);
        // Through CBOR too: what the relay stores and hands out.
        let decoded = minicbor::decode::<Bundle>(&minicbor::to_vec(&wire).unwrap()).unwrap();
        let back = PreKeyBundle::try_from(&decoded).unwrap();
        assert_eq!(back, bundle);
        back.verify(&account.public_key()).unwrap();
    }

    #[test]
    fn the_one_time_flag_travels_beside_the_kem_key() {
        let (account, bundle) = bundle();
        let mut wire = Bundle::from(&bundle);
        wire.kem_one_time = false;
        let flipped = PreKeyBundle::try_from(&wire).unwrap();
        assert!(!flipped.kem_prekey.one_time);
        // The flag selects the signature context: flipping it breaks the signature.
        assert!(flipped.verify(&account.public_key()).is_err());
    }

    #[test]
    fn a_bundle_without_one_time_x25519_key_converts() {
        let (_, mut bundle) = bundle();
        bundle.one_time_prekey = None;
        let wire = Bundle::from(&bundle);
        assert_eq!(wire.one_time, None);
        assert_eq!(PreKeyBundle::try_from(&wire).unwrap(), bundle);
    }

    #[test]
    fn a_kem_key_of_the_wrong_length_is_refused_by_id() {
        let (_, bundle) = bundle();
        let mut wire = Bundle::from(&bundle);
        wire.kem_prekey.public_key.pop();
        assert_eq!(
            PreKeyBundle::try_from(&wire),
            Err(PreKeyError::KemKeyLength {
                id: bundle.kem_prekey.id,
                size: KEM_PUBLIC_KEY_LEN - 1
            })
        );
    }

    #[test]
    fn an_invalid_kem_key_is_refused() {
        let (_, bundle) = bundle();
        let mut key = KemPreKey::from(&bundle.kem_prekey);
        // Coefficients must be below q = 3329: all ones bytes are not.
        key.public_key = vec![0xff; KEM_PUBLIC_KEY_LEN];
        assert_eq!(
            kem_prekey(&key, true),
            Err(PreKeyError::KemKey { id: key.id })
        );
    }

    #[test]
    fn an_undecodable_certificate_is_refused() {
        let (_, bundle) = bundle();
        let mut wire = Bundle::from(&bundle);
        wire.certificate.truncate(10);
        assert!(matches!(
            PreKeyBundle::try_from(&wire),
            Err(PreKeyError::Certificate(_))
        ));
    }

    #[test]
    fn single_keys_round_trip() {
        let (_, bundle) = bundle();
        let spk = SignedPreKey::from(&bundle.signed_prekey);
        assert_eq!(SignedPreKeyPublic::from(&spk), bundle.signed_prekey);
        let opk = bundle.one_time_prekey.unwrap();
        assert_eq!(OneTimePreKeyPublic::from(&OneTimePreKey::from(&opk)), opk);
        let kem = KemPreKey::from(&bundle.kem_prekey);
        assert_eq!(kem_prekey(&kem, true).unwrap(), bundle.kem_prekey);
    }
}
