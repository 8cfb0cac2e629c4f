//! The device certificate: the AIK vouches for a device's X25519 identity key.

use crate::{
    Error, Result,
    codec::Reader,
    types::{curve25519::X25519PublicKey, ed25519::AccountPublicKey, ed25519::Ed25519SigningKey},
};

/// Bytes in an encoded device certificate.
pub const DEVICE_CERTIFICATE_LEN: usize = 152;
const CONTEXT: &[u8] = b"Estafette/v1/device-cert";

/// A device identifier, 16 bytes chosen by the account.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct DeviceId(pub [u8; 16]);

impl DeviceId {
    /// A fresh random device identifier.
    pub fn generate() -> Result<Self> {
        Ok(Self(crate::rng::random_array()?))
    }
}

/// `AIK_pub(32) || device_id(16) || DIK_pub(32) || issued_at_ms(u64) || sig(64)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeviceCertificate {
    account_key: AccountPublicKey,
    device_id: DeviceId,
    device_key: X25519PublicKey,
    issued_at_ms: u64,
    signature: [u8; 64],
}

impl DeviceCertificate {
    pub(crate) fn issue(
        aik: &Ed25519SigningKey,
        device_id: DeviceId,
        device_key: X25519PublicKey,
        issued_at_ms: u64,
    ) -> Self {
        let account_key = aik.public();
        let signature = aik.sign(
            CONTEXT,
            &[
                account_key.as_bytes(),
                &device_id.0,
                device_key.as_bytes(),
                &issued_at_ms.to_be_bytes(),
            ],
        );
        Self {
            account_key,
            device_id,
            device_key,
            issued_at_ms,
            signature,
        }
    }

    /// Parses the 152-byte encoding. Does not check the signature: call [`Self::verify`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, "device certificate");
        let cert = Self::read(&mut r)?;
        r.finish()?;
        Ok(cert)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self> {
        let account_key = AccountPublicKey::from_bytes(r.array()?)?;
        Ok(Self {
            account_key,
            device_id: DeviceId(r.array()?),
            device_key: X25519PublicKey(r.array()?),
            issued_at_ms: r.u64()?,
            signature: r.array()?,
        })
    }

    /// The 152-byte encoding.
    pub fn encode(&self) -> [u8; DEVICE_CERTIFICATE_LEN] {
        let mut out = [0u8; DEVICE_CERTIFICATE_LEN];
        let parts: [&[u8]; 5] = [
            self.account_key.as_bytes(),
            &self.device_id.0,
            self.device_key.as_bytes(),
            &self.issued_at_ms.to_be_bytes(),
            &self.signature,
        ];
        let mut at = 0;
        for part in parts {
            if let Some(dst) = out.get_mut(at..at + part.len()) {
                dst.copy_from_slice(part);
            }
            at += part.len();
        }
        out
    }

    /// Checks the signature under the account key the certificate names.
    pub fn verify(&self) -> Result<()> {
        self.account_key.verify(
            CONTEXT,
            &[
                self.account_key.as_bytes(),
                &self.device_id.0,
                self.device_key.as_bytes(),
                &self.issued_at_ms.to_be_bytes(),
            ],
            &self.signature,
            "device certificate",
        )
    }

    /// Checks that the certificate was issued by `expected` and that its signature holds.
    pub fn verify_for(&self, expected: &AccountPublicKey) -> Result<()> {
        if self.account_key != *expected {
            return Err(Error::UnexpectedIdentity);
        }
        self.verify()
    }

    /// The account identity key that issued the certificate.
    pub fn account_key(&self) -> &AccountPublicKey {
        &self.account_key
    }

    /// The device this certificate is for.
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    /// The device identity key (DIK) the certificate vouches for.
    pub fn device_key(&self) -> &X25519PublicKey {
        &self.device_key
    }

    /// When the certificate was issued, in milliseconds since the Unix epoch.
    pub fn issued_at_ms(&self) -> u64 {
        self.issued_at_ms
    }
}
