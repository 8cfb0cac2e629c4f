//! `PreKeyMessage = 0x02 || device_cert_A(152) || EK_A_pub(32) || spk_id(u32)
//!  || opk_id(u32, 0 = none) || pq_id(u32) || CT(1568) || RatchetMessage`.

use crate::{
    Result,
    codec::Reader,
    identity::device_cert::{DEVICE_CERTIFICATE_LEN, DeviceCertificate},
    message::{PREKEY_MESSAGE_TYPE, ratchet_message::RatchetMessage},
    types::{curve25519::X25519PublicKey, ml_kem::KEM_CIPHERTEXT_LEN},
};

/// What the initiator sends until it first receives a reply.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PreKeyMessage {
    /// The initiator's device certificate.
    pub certificate: DeviceCertificate,
    /// The initiator's ephemeral key EK_A.
    pub base_key: X25519PublicKey,
    /// The responder's signed prekey used.
    pub signed_prekey_id: u32,
    /// The responder's one-time prekey used, if any (encoded as 0 when absent).
    pub one_time_prekey_id: Option<u32>,
    /// The responder's ML-KEM prekey used.
    pub kem_prekey_id: u32,
    /// The ML-KEM ciphertext.
    pub kem_ciphertext: Box<[u8; KEM_CIPHERTEXT_LEN]>,
    /// The first (or a repeated-setup) ratchet message.
    pub message: RatchetMessage,
}

impl PreKeyMessage {
    /// Parses a PreKeyMessage. Does not verify the certificate.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, "PreKeyMessage");
        if r.u8()? != PREKEY_MESSAGE_TYPE {
            return Err(r.malformed("its type byte is not 0x02"));
        }
        let certificate = DeviceCertificate::decode(r.take(DEVICE_CERTIFICATE_LEN)?)?;
        let base_key = X25519PublicKey(r.array()?);
        let signed_prekey_id = r.u32()?;
        let one_time_prekey_id = match r.u32()? {
            0 => None,
            id => Some(id),
        };
        let kem_prekey_id = r.u32()?;
        let kem_ciphertext = Box::new(r.array::<KEM_CIPHERTEXT_LEN>()?);
        let message = RatchetMessage::decode(r.rest())?;
        Ok(Self {
            certificate,
            base_key,
            signed_prekey_id,
            one_time_prekey_id,
            kem_prekey_id,
            kem_ciphertext,
            message,
        })
    }

    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let inner = self.message.encode();
        let mut out = Vec::with_capacity(
            1 + DEVICE_CERTIFICATE_LEN + 32 + 12 + KEM_CIPHERTEXT_LEN + inner.len(),
        );
        out.push(PREKEY_MESSAGE_TYPE);
        out.extend_from_slice(&self.certificate.encode());
        out.extend_from_slice(self.base_key.as_bytes());
        out.extend_from_slice(&self.signed_prekey_id.to_be_bytes());
        out.extend_from_slice(&self.one_time_prekey_id.unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&self.kem_prekey_id.to_be_bytes());
        out.extend_from_slice(&self.kem_ciphertext[..]);
        out.extend_from_slice(&inner);
        out
    }
}
