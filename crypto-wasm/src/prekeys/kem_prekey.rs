//! ML-KEM-1024 prekeys: the signed last-resort key (PQSPK) and one-time keys (PQOPK).

use crate::{
    DeviceId, Error, Result,
    types::{
        ed25519::{AccountPublicKey, Ed25519SigningKey},
        ml_kem::{KemKeyPair, KemPublicKey},
    },
};

const CONTEXT_LAST_RESORT: &[u8] = b"Estafette/v1/pqspk";
const CONTEXT_ONE_TIME: &[u8] = b"Estafette/v1/pqopk";

fn context(one_time: bool) -> &'static [u8] {
    if one_time {
        CONTEXT_ONE_TIME
    } else {
        CONTEXT_LAST_RESORT
    }
}

/// The public part of an ML-KEM prekey, as published in a bundle.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KemPreKeyPublic {
    /// Non-zero identifier; last-resort and one-time ML-KEM keys share one id space.
    pub id: u32,
    /// The ML-KEM-1024 encapsulation key.
    pub public_key: KemPublicKey,
    /// `SIG.sign(AIK, ctx || 0x00 || device_id || id || PQ_pub)`, ctx `"Estafette/v1/pqopk"`
    /// if one-time, else `"Estafette/v1/pqspk"`.
    pub signature: [u8; 64],
    /// Whether this is a one-time key. The flag selects the signature context, so it
    /// cannot be flipped without breaking the signature.
    pub one_time: bool,
}

impl KemPreKeyPublic {
    /// Checks the signature of `account_key` for the device `device_id`.
    pub fn verify(&self, account_key: &AccountPublicKey, device_id: DeviceId) -> Result<()> {
        if self.id == 0 {
            return Err(Error::ZeroPreKeyId);
        }
        account_key.verify(
            context(self.one_time),
            &[
                &device_id.0,
                &self.id.to_be_bytes(),
                &self.public_key.as_bytes()[..],
            ],
            &self.signature,
            "ML-KEM prekey",
        )
    }
}

/// An ML-KEM prekey with its secret half.
#[derive(Clone, Debug)]
pub(crate) struct KemPreKey {
    pub(crate) id: u32,
    pub(crate) pair: KemKeyPair,
    pub(crate) signature: [u8; 64],
    pub(crate) one_time: bool,
    pub(crate) created_at_ms: u64,
    pub(crate) replaced_at_ms: Option<u64>,
}

impl KemPreKey {
    pub(crate) fn generate(
        aik: &Ed25519SigningKey,
        device_id: DeviceId,
        id: u32,
        one_time: bool,
        now_ms: u64,
    ) -> Result<Self> {
        let pair = KemKeyPair::generate()?;
        let signature = aik.sign(
            context(one_time),
            &[
                &device_id.0,
                &id.to_be_bytes(),
                &pair.public().as_bytes()[..],
            ],
        );
        Ok(Self {
            id,
            pair,
            signature,
            one_time,
            created_at_ms: now_ms,
            replaced_at_ms: None,
        })
    }

    pub(crate) fn public(&self) -> KemPreKeyPublic {
        KemPreKeyPublic {
            id: self.id,
            public_key: self.pair.public().clone(),
            signature: self.signature,
            one_time: self.one_time,
        }
    }
}
