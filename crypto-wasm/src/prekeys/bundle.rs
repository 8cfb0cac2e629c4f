//! The prekey bundle an initiator fetches from the relay, and its verification.

use crate::{
    Result,
    codec::{Reader, Writer},
    identity::device_cert::{DEVICE_CERTIFICATE_LEN, DeviceCertificate},
    prekeys::{
        kem_prekey::KemPreKeyPublic, one_time_prekey::OneTimePreKeyPublic,
        signed_prekey::SignedPreKeyPublic,
    },
    types::{
        curve25519::X25519PublicKey,
        ed25519::AccountPublicKey,
        ml_kem::{KEM_PUBLIC_KEY_LEN, KemPublicKey},
    },
};

const FORMAT_VERSION: u8 = 1;

/// Everything needed to start a session with one device.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PreKeyBundle {
    /// The device's certificate.
    pub certificate: DeviceCertificate,
    /// Its current signed prekey.
    pub signed_prekey: SignedPreKeyPublic,
    /// An ML-KEM prekey: a one-time key if the relay had one, else the last-resort key.
    pub kem_prekey: KemPreKeyPublic,
    /// A one-time X25519 prekey, if the relay had one left.
    pub one_time_prekey: Option<OneTimePreKeyPublic>,
}

impl PreKeyBundle {
    /// Checks that the certificate was issued by `expected`, and every prekey signature.
    /// The initiator must call this (PQXDH does) and abort on error.
    pub fn verify(&self, expected: &AccountPublicKey) -> Result<()> {
        self.certificate.verify_for(expected)?;
        let device_id = self.certificate.device_id();
        self.signed_prekey.verify(expected, device_id)?;
        self.kem_prekey.verify(expected, device_id)?;
        if self.one_time_prekey.is_some_and(|opk| opk.id == 0) {
            return Err(crate::Error::ZeroPreKeyId);
        }
        Ok(())
    }

    /// Encodes the bundle:
    /// `0x01 || cert(152) || spk_id(u32) || spk_pub(32) || spk_sig(64) || pq_id(u32)
    ///  || pq_one_time(u8) || pq_pub(1568) || pq_sig(64) || has_opk(u8) [|| opk_id(u32) || opk_pub(32)]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(FORMAT_VERSION);
        w.bytes(&self.certificate.encode())
            .u32(self.signed_prekey.id)
            .bytes(self.signed_prekey.public_key.as_bytes())
            .bytes(&self.signed_prekey.signature)
            .u32(self.kem_prekey.id)
            .u8(u8::from(self.kem_prekey.one_time))
            .bytes(&self.kem_prekey.public_key.as_bytes()[..])
            .bytes(&self.kem_prekey.signature);
        match &self.one_time_prekey {
            Some(opk) => w.u8(1).u32(opk.id).bytes(opk.public_key.as_bytes()),
            None => w.u8(0),
        };
        w.finish().to_vec()
    }

    /// Decodes [`Self::encode`]'s output. Does not verify: call [`Self::verify`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_version(bytes, "prekey bundle", FORMAT_VERSION)?;
        let certificate = DeviceCertificate::decode(r.take(DEVICE_CERTIFICATE_LEN)?)?;
        let signed_prekey = SignedPreKeyPublic {
            id: r.u32()?,
            public_key: X25519PublicKey(r.array()?),
            signature: r.array()?,
        };
        let id = r.u32()?;
        let one_time = r.bool()?;
        let public_key = KemPublicKey::from_bytes(&r.array::<KEM_PUBLIC_KEY_LEN>()?)?;
        let kem_prekey = KemPreKeyPublic {
            id,
            public_key,
            signature: r.array()?,
            one_time,
        };
        let one_time_prekey = if r.bool()? {
            Some(OneTimePreKeyPublic {
                id: r.u32()?,
                public_key: X25519PublicKey(r.array()?),
            })
        } else {
            None
        };
        r.finish()?;
        Ok(Self {
            certificate,
            signed_prekey,
            kem_prekey,
            one_time_prekey,
        })
    }
}
