//! A device: its X25519 identity key (DIK) and the certificate the account issued for it.

use core::fmt;

use zeroize::Zeroizing;

use crate::{
    Account, Result,
    codec::{Reader, Writer},
    identity::device_cert::{DeviceCertificate, DeviceId},
    types::curve25519::X25519KeyPair,
};

const FORMAT_VERSION: u8 = 1;

/// One device of an account.
#[derive(Clone)]
pub struct Device {
    pub(crate) certificate: DeviceCertificate,
    pub(crate) dik: X25519KeyPair,
}

impl Device {
    /// Creates a device identity key and has `account` certify it.
    ///
    /// The crate reads no clock (there is none in `wasm32-unknown-unknown` without
    /// JavaScript), so the caller passes the issue time.
    pub fn generate(account: &Account, device_id: DeviceId, issued_at_ms: u64) -> Result<Self> {
        let dik = X25519KeyPair::generate()?;
        let certificate =
            DeviceCertificate::issue(&account.aik, device_id, dik.public(), issued_at_ms);
        Ok(Self { certificate, dik })
    }

    /// The certificate to publish.
    pub fn certificate(&self) -> &DeviceCertificate {
        &self.certificate
    }

    /// This device's identifier.
    pub fn device_id(&self) -> DeviceId {
        self.certificate.device_id()
    }

    /// Serializes the device for storage: `0x01 || certificate(152) || DIK secret(32)`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(FORMAT_VERSION);
        w.bytes(&self.certificate.encode())
            .bytes(&self.dik.secret_bytes()[..]);
        w.finish()
    }

    /// Restores a device serialized by [`Device::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_version(bytes, "saved device", FORMAT_VERSION)?;
        let certificate = DeviceCertificate::read(&mut r)?;
        let secret = Zeroizing::new(r.array::<32>()?);
        r.finish()?;
        let dik = X25519KeyPair::from_secret_bytes(*secret);
        if dik.public() != *certificate.device_key() {
            return Err(secret_mismatch());
        }
        certificate.verify()?;
        Ok(Self { certificate, dik })
    }
}

fn secret_mismatch() -> crate::Error {
    crate::Error::Malformed {
        what: "saved device",
        why: "its secret key does not match its certificate",
    }
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}
