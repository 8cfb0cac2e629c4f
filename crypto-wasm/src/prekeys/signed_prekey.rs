//! The signed prekey (SPK): X25519, signed by the AIK, rotated weekly.

use crate::{
    DeviceId, Error, Result,
    types::{
        curve25519::{X25519KeyPair, X25519PublicKey},
        ed25519::{AccountPublicKey, Ed25519SigningKey},
    },
};

const CONTEXT: &[u8] = b"Estafette/v1/spk";

/// The public part of a signed prekey, as published in a bundle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SignedPreKeyPublic {
    /// Non-zero identifier, unique per device.
    pub id: u32,
    /// The X25519 public key.
    pub public_key: X25519PublicKey,
    /// `SIG.sign(AIK, "Estafette/v1/spk" || 0x00 || device_id || spk_id || SPK_pub)`.
    pub signature: [u8; 64],
}

impl SignedPreKeyPublic {
    /// Checks the signature of `account_key` for the device `device_id`.
    pub fn verify(&self, account_key: &AccountPublicKey, device_id: DeviceId) -> Result<()> {
        if self.id == 0 {
            return Err(Error::ZeroPreKeyId);
        }
        account_key.verify(
            CONTEXT,
            &[
                &device_id.0,
                &self.id.to_be_bytes(),
                self.public_key.as_bytes(),
            ],
            &self.signature,
            "signed prekey",
        )
    }
}

/// A signed prekey with its secret half, as kept by the device.
#[derive(Clone, Debug)]
pub(crate) struct SignedPreKey {
    pub(crate) id: u32,
    pub(crate) pair: X25519KeyPair,
    pub(crate) signature: [u8; 64],
    pub(crate) created_at_ms: u64,
    /// When a newer signed prekey replaced this one; `None` while it is current.
    pub(crate) replaced_at_ms: Option<u64>,
}

impl SignedPreKey {
    pub(crate) fn generate(
        aik: &Ed25519SigningKey,
        device_id: DeviceId,
        id: u32,
        now_ms: u64,
    ) -> Result<Self> {
        let pair = X25519KeyPair::generate()?;
        let signature = aik.sign(
            CONTEXT,
            &[&device_id.0, &id.to_be_bytes(), pair.public().as_bytes()],
        );
        Ok(Self {
            id,
            pair,
            signature,
            created_at_ms: now_ms,
            replaced_at_ms: None,
        })
    }

    pub(crate) fn public(&self) -> SignedPreKeyPublic {
        SignedPreKeyPublic {
            id: self.id,
            public_key: self.pair.public(),
            signature: self.signature,
        }
    }
}
