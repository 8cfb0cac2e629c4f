//! Relay authentication: the AIK signs the relay's challenge, bound to the relay's origin
//! (PROTOCOL.md section 2), and the device proves it holds its DIK with a MAC keyed by
//! `DH(DIK, R)`, R being the relay's key for this connection (section 9.6).

use core::fmt;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{
    Account, Device, DeviceCertificate, Error, Result, X25519PublicKey,
    identity::device_cert::DeviceId, rng::random_array, types::curve25519::X25519KeyPair,
};

const CONTEXT: &[u8] = b"Estafette/v1/relay-auth";
const DIK_INFO: &[u8] = b"Estafette/v1/relay-auth-dik";

impl Account {
    /// `SIG.sign(AIK, "Estafette/v1/relay-auth" || 0x00 || challenge || device_id || origin_utf8)`.
    pub fn sign_relay_challenge(
        &self,
        challenge: &[u8; 32],
        device_id: DeviceId,
        origin: &str,
    ) -> [u8; 64] {
        self.aik
            .sign(CONTEXT, &[challenge, &device_id.0, origin.as_bytes()])
    }
}

impl DeviceCertificate {
    /// For the relay: checks a challenge answer made by the account that issued this
    /// certificate, for this device and this relay origin. Check the certificate
    /// itself with [`DeviceCertificate::verify`] too.
    pub fn verify_relay_auth(
        &self,
        challenge: &[u8; 32],
        origin: &str,
        signature: &[u8; 64],
    ) -> Result<()> {
        self.account_key().verify(
            CONTEXT,
            &[challenge, &self.device_id().0, origin.as_bytes()],
            signature,
            "relay challenge answer",
        )
    }
}

/// `HMAC(HKDF(zeros(32), shared, "Estafette/v1/relay-auth-dik", 32), challenge || device_id || origin)`,
/// as a MAC ready to finalize or verify.
fn dik_mac(
    shared: &[u8; 32],
    challenge: &[u8; 32],
    device_id: DeviceId,
    origin: &str,
) -> Result<Hmac<Sha256>> {
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit, so expand cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(&[0u8; 32]), shared).expand(DIK_INFO, &mut key[..]);
    // HMAC accepts keys of any length, so this error cannot happen.
    let mut mac = Hmac::<Sha256>::new_from_slice(&key[..]).map_err(|_| Error::RelayAuthCode)?;
    mac.update(challenge);
    mac.update(&device_id.0);
    mac.update(origin.as_bytes());
    Ok(mac)
}

impl Device {
    /// The device-bound part of the answer to a relay challenge (section 9.6): a MAC
    /// keyed by `DH(DIK, R)`. Refuses a relay key `R` that gives an all-zero DH output.
    pub fn relay_auth_mac(
        &self,
        challenge: &[u8; 32],
        relay_key: &X25519PublicKey,
        origin: &str,
    ) -> Result<[u8; 32]> {
        let shared = self.dik.diffie_hellman(relay_key)?;
        let mac = dik_mac(&shared, challenge, self.device_id(), origin)?;
        Ok(mac.finalize().into_bytes().into())
    }
}

/// The relay's challenge for one connection: 32 random bytes and an ephemeral X25519
/// key pair whose private half lives as long as this value (drop it with the connection).
pub struct RelayChallenge {
    challenge: [u8; 32],
    key: X25519KeyPair,
}

impl RelayChallenge {
    /// A fresh challenge and key.
    pub fn generate() -> Result<Self> {
        Ok(Self {
            challenge: random_array()?,
            key: X25519KeyPair::generate()?,
        })
    }

    /// The 32 challenge bytes to send.
    pub fn challenge(&self) -> &[u8; 32] {
        &self.challenge
    }

    /// `R`, to send with the challenge.
    pub fn public_key(&self) -> X25519PublicKey {
        self.key.public()
    }

    /// Checks a device's whole answer for this relay `origin`: the certificate's own
    /// signature, the AIK's signature of the challenge, and the MAC that only the holder
    /// of the certified DIK can compute. The relay must also check that the certificate
    /// is the one it has on file for that device and that the device is not revoked.
    pub fn verify(
        &self,
        certificate: &DeviceCertificate,
        origin: &str,
        signature: &[u8; 64],
        mac: &[u8; 32],
    ) -> Result<()> {
        certificate.verify()?;
        certificate.verify_relay_auth(&self.challenge, origin, signature)?;
        self.verify_mac(certificate, origin, mac)
    }

    /// Checks only the device-bound MAC, with `DH(r, DIK_pub)` from the certificate,
    /// compared in constant time.
    pub fn verify_mac(
        &self,
        certificate: &DeviceCertificate,
        origin: &str,
        mac: &[u8; 32],
    ) -> Result<()> {
        let shared = self.key.diffie_hellman(certificate.device_key())?;
        dik_mac(&shared, &self.challenge, certificate.device_id(), origin)?
            .verify_slice(mac)
            .map_err(|_| Error::RelayAuthCode)
    }

    #[cfg(test)]
    pub(crate) fn from_parts_for_test(challenge: [u8; 32], secret: [u8; 32]) -> Self {
        Self {
            challenge,
            key: X25519KeyPair::from_secret_bytes(secret),
        }
    }
}

impl fmt::Debug for RelayChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayChallenge")
            .field("public_key", &self.key.public())
            .finish_non_exhaustive()
    }
}
