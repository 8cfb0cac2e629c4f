//! Relay authentication: the AIK signs the relay's challenge, bound to the relay's origin.

use crate::{Account, DeviceCertificate, Result, identity::device_cert::DeviceId};

const CONTEXT: &[u8] = b"Estafette/v1/relay-auth";

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
