//! Devices as tests and the load generator make them: an account key, a
//! device certificate, prekeys, and the answer to a relay's challenge.

use std::sync::Arc;

use estafette_crypto::{Account, Device, DeviceId as CryptoDeviceId, PreKeyStore};
use estafette_wire::{ChallengeAnswer, DeviceId, KemPreKey, OneTimePreKey, PreKeyUpload};

use crate::error::KitError;

/// What signing in to a relay needs: the account key and the device.
#[derive(Clone)]
pub struct DeviceKeys {
    /// The account identity key (shared by the account's devices).
    pub account: Arc<Account>,
    /// The device and its certificate.
    pub device: Device,
}

impl DeviceKeys {
    /// A new device of `account`.
    pub fn generate(account: Arc<Account>) -> Result<Self, KitError> {
        let device = Device::generate(&account, CryptoDeviceId::generate()?, 1)?;
        Ok(Self { account, device })
    }

    /// The device's id on the wire.
    pub fn id(&self) -> DeviceId {
        DeviceId(self.device.device_id().0)
    }

    /// Signs `challenge` for the relay at `origin` (PROTOCOL.md section 2).
    pub fn answer(&self, challenge: [u8; 32], origin: &str) -> ChallengeAnswer {
        ChallengeAnswer {
            challenge,
            certificate: self.device.certificate().encode().to_vec(),
            signature: self.account.sign_relay_challenge(
                &challenge,
                self.device.device_id(),
                origin,
            ),
        }
    }
}

/// A device with its secret prekeys, as a participant of a test.
pub struct Identity {
    /// Account key and device.
    pub keys: DeviceKeys,
    /// The device's prekeys (signed, last-resort, one-time).
    pub prekeys: PreKeyStore,
}

impl Identity {
    /// The first device of a new account.
    pub fn generate() -> Result<Self, KitError> {
        Self::device_of(Arc::new(Account::generate()?))
    }

    /// Another device of `account`.
    pub fn device_of(account: Arc<Account>) -> Result<Self, KitError> {
        let keys = DeviceKeys::generate(account)?;
        let prekeys = PreKeyStore::new(&keys.account, &keys.device, 1)?;
        Ok(Self { keys, prekeys })
    }

    /// The account key.
    pub fn account(&self) -> &Arc<Account> {
        &self.keys.account
    }

    /// The device's id on the wire.
    pub fn id(&self) -> DeviceId {
        self.keys.id()
    }

    /// Signs `challenge` for the relay at `origin`.
    pub fn answer(&self, challenge: [u8; 32], origin: &str) -> ChallengeAnswer {
        self.keys.answer(challenge, origin)
    }

    /// The signed and last-resort keys plus `opk` new one-time X25519 keys and
    /// `pqopk` new one-time ML-KEM keys.
    pub fn upload(&mut self, opk: usize, pqopk: usize) -> Result<PreKeyUpload, KitError> {
        let missing = |what: &'static str| KitError::Unexpected {
            expected: what,
            got: "a prekey store without it".into(),
        };
        let spk = self
            .prekeys
            .signed_prekey()
            .ok_or_else(|| missing("a signed prekey"))?;
        let last = self
            .prekeys
            .kem_last_resort_prekey()
            .ok_or_else(|| missing("a last-resort ML-KEM prekey"))?;
        let one_time = self.prekeys.generate_one_time_prekeys(opk)?;
        let kem_one_time =
            self.prekeys
                .generate_kem_one_time_prekeys(&self.keys.account, pqopk, 1)?;
        Ok(PreKeyUpload {
            signed_prekey: Some((&spk).into()),
            kem_last_resort: Some((&last).into()),
            one_time: one_time.iter().map(OneTimePreKey::from).collect(),
            kem_one_time: kem_one_time.iter().map(KemPreKey::from).collect(),
        })
    }
}
