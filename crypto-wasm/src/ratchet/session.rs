//! A pairwise session with one remote device: PQXDH setup plus the Double Ratchet.

use core::fmt;

use zeroize::Zeroizing;

use crate::{
    Device, DeviceCertificate, Error, PreKeyStore, Result,
    codec::{Reader, Writer},
    identity::device_cert::DEVICE_CERTIFICATE_LEN,
    message::{MessageKind, prekey_message::PreKeyMessage, ratchet_message::RatchetMessage},
    pqxdh,
    prekeys::bundle::PreKeyBundle,
    ratchet::{
        MAX_STORED_SKIPPED_KEYS,
        chain_key::ChainKey,
        double_ratchet::{AssociatedData, DoubleRatchet, RatchetCore},
        message_key::MessageKey,
        root_key::RootKey,
        skipped_keys::{SkippedKey, SkippedKeys},
    },
    types::{
        curve25519::{X25519KeyPair, X25519PublicKey},
        ed25519::AccountPublicKey,
        ml_kem::KEM_CIPHERTEXT_LEN,
    },
};

const FORMAT_VERSION: u8 = 1;

/// What the initiator repeats in front of every message until the responder answers.
#[derive(Clone)]
struct PendingPreKey {
    local_certificate: DeviceCertificate,
    signed_prekey_id: u32,
    one_time_prekey_id: Option<u32>,
    kem_prekey_id: u32,
    kem_ciphertext: Box<[u8; KEM_CIPHERTEXT_LEN]>,
}

/// An end-to-end encrypted session with one remote device.
#[derive(Clone)]
pub struct Session {
    ad: AssociatedData,
    remote: DeviceCertificate,
    base_key: X25519PublicKey,
    pending: Option<PendingPreKey>,
    ratchet: DoubleRatchet,
}

impl Session {
    /// Starts a session with the device of `bundle`, which must belong to the account
    /// `expected` (every signature is checked; any failure aborts). Returns the session
    /// and the PreKeyMessage carrying `content`.
    pub fn initiate(
        device: &Device,
        bundle: &PreKeyBundle,
        expected: &AccountPublicKey,
        content: &[u8],
    ) -> Result<(Self, Vec<u8>)> {
        let setup = pqxdh::initiate(device, bundle, expected)?;
        let ratchet = DoubleRatchet::new_initiator(&setup.sk, bundle.signed_prekey.public_key)?;
        let mut session = Self {
            ad: setup.ad,
            remote: bundle.certificate.clone(),
            base_key: setup.base_key,
            pending: Some(PendingPreKey {
                local_certificate: device.certificate.clone(),
                signed_prekey_id: bundle.signed_prekey.id,
                one_time_prekey_id: bundle.one_time_prekey.map(|k| k.id),
                kem_prekey_id: bundle.kem_prekey.id,
                kem_ciphertext: setup.kem_ciphertext,
            }),
            ratchet,
        };
        let first = session.encrypt(content)?;
        Ok((session, first))
    }

    /// Accepts a PreKeyMessage: verifies the sender's certificate, finds the named
    /// prekeys in `store`, decrypts, and only then deletes the one-time prekeys used.
    /// On error neither `store` nor anything else changes.
    ///
    /// The caller must still check that the sender's account key
    /// ([`Session::remote_certificate`]) is the one it expects for that account.
    pub fn respond(
        device: &Device,
        store: &mut PreKeyStore,
        message: &[u8],
    ) -> Result<(Self, Zeroizing<Vec<u8>>)> {
        let message = PreKeyMessage::decode(message)?;
        message.certificate.verify()?;
        let keys = store.lookup(
            message.signed_prekey_id,
            message.one_time_prekey_id.unwrap_or(0),
            message.kem_prekey_id,
            message.base_key.as_bytes(),
        )?;
        let (sk, ad) = pqxdh::respond(device, &keys, &message)?;
        let mut ratchet = DoubleRatchet::new_responder(&sk, keys.signed.clone());
        let content = ratchet.decrypt(&message.message, &ad)?;
        store.consume(
            message.one_time_prekey_id.unwrap_or(0),
            message.kem_prekey_id,
            message.base_key.to_bytes(),
        );
        let session = Self {
            ad,
            remote: message.certificate,
            base_key: message.base_key,
            pending: None,
            ratchet,
        };
        Ok((session, content))
    }

    /// Pads and encrypts `content`. While the peer has not answered yet, the result is
    /// a PreKeyMessage, otherwise a RatchetMessage.
    pub fn encrypt(&mut self, content: &[u8]) -> Result<Vec<u8>> {
        let message = self.ratchet.encrypt(content, &self.ad)?;
        Ok(match &self.pending {
            None => message.encode(),
            Some(p) => PreKeyMessage {
                certificate: p.local_certificate.clone(),
                base_key: self.base_key,
                signed_prekey_id: p.signed_prekey_id,
                one_time_prekey_id: p.one_time_prekey_id,
                kem_prekey_id: p.kem_prekey_id,
                kem_ciphertext: p.kem_ciphertext.clone(),
                message,
            }
            .encode(),
        })
    }

    /// Decrypts a RatchetMessage, or a repeated PreKeyMessage of this same session
    /// setup. On error the session is exactly as before.
    pub fn decrypt(&mut self, message: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let content = match MessageKind::of(message) {
            Some(MessageKind::Ratchet) => {
                let message = RatchetMessage::decode(message)?;
                self.ratchet.decrypt(&message, &self.ad)?
            }
            Some(MessageKind::PreKey) => {
                let message = PreKeyMessage::decode(message)?;
                if message.base_key != self.base_key
                    || self.pending.is_some()
                    || message.certificate != self.remote
                {
                    return Err(Error::SessionMismatch);
                }
                self.ratchet.decrypt(&message.message, &self.ad)?
            }
            None => {
                return Err(Error::Malformed {
                    what: "message",
                    why: "its type byte is unknown",
                });
            }
        };
        // The peer answered, so it holds the session: stop repeating the setup.
        self.pending = None;
        Ok(content)
    }

    /// The remote device's certificate (already verified). Check its account key.
    pub fn remote_certificate(&self) -> &DeviceCertificate {
        &self.remote
    }

    /// The initiator's ephemeral key, which identifies this session setup.
    pub fn base_key(&self) -> &X25519PublicKey {
        &self.base_key
    }

    /// Whether outgoing messages are still PreKeyMessages (no answer received yet).
    pub fn is_awaiting_reply(&self) -> bool {
        self.pending.is_some()
    }

    /// How many skipped message keys are stored.
    pub fn skipped_key_count(&self) -> usize {
        self.ratchet.skipped.len()
    }

    /// Serializes the session (secret keys included). Seal it before storing.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(FORMAT_VERSION);
        w.bytes(&self.ad)
            .bytes(&self.remote.encode())
            .bytes(self.base_key.as_bytes());
        match &self.pending {
            Some(p) => w
                .u8(1)
                .bytes(&p.local_certificate.encode())
                .u32(p.signed_prekey_id)
                .u32(p.one_time_prekey_id.unwrap_or(0))
                .u32(p.kem_prekey_id)
                .bytes(&p.kem_ciphertext[..]),
            None => w.u8(0),
        };
        let core = &self.ratchet.core;
        w.bytes(&core.root.0[..])
            .bytes(&core.self_ratchet.secret_bytes()[..]);
        match &core.remote_ratchet {
            Some(k) => w.u8(1).bytes(k.as_bytes()),
            None => w.u8(0),
        };
        for chain in [&core.sending, &core.receiving] {
            match chain {
                Some(ck) => w.u8(1).bytes(&ck.key[..]).u32(ck.index),
                None => w.u8(0),
            };
        }
        w.u32(core.previous_sending_length);
        w.len(self.ratchet.skipped.keys.len());
        for k in &self.ratchet.skipped.keys {
            w.bytes(k.ratchet_key.as_bytes())
                .u32(k.index)
                .bytes(&k.key.0[..]);
        }
        w.finish()
    }

    /// Restores a session serialized by [`Session::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_version(bytes, "saved session", FORMAT_VERSION)?;
        let ad = r.array()?;
        let remote = DeviceCertificate::decode(r.take(DEVICE_CERTIFICATE_LEN)?)?;
        let base_key = X25519PublicKey(r.array()?);
        let pending = if r.bool()? {
            let local_certificate = DeviceCertificate::decode(r.take(DEVICE_CERTIFICATE_LEN)?)?;
            Some(PendingPreKey {
                local_certificate,
                signed_prekey_id: r.u32()?,
                one_time_prekey_id: match r.u32()? {
                    0 => None,
                    id => Some(id),
                },
                kem_prekey_id: r.u32()?,
                kem_ciphertext: Box::new(r.array()?),
            })
        } else {
            None
        };
        let root = RootKey::new(r.array()?);
        let secret = Zeroizing::new(r.array::<32>()?);
        let self_ratchet = X25519KeyPair::from_secret_bytes(*secret);
        let remote_ratchet = if r.bool()? {
            Some(X25519PublicKey(r.array()?))
        } else {
            None
        };
        let mut chains = [None, None];
        for chain in &mut chains {
            if r.bool()? {
                *chain = Some(ChainKey::new(r.array()?, r.u32()?));
            }
        }
        let [sending, receiving] = chains;
        let previous_sending_length = r.u32()?;
        let mut skipped = SkippedKeys::default();
        for _ in 0..r.len(MAX_STORED_SKIPPED_KEYS)? {
            skipped.keys.push_back(SkippedKey {
                ratchet_key: X25519PublicKey(r.array()?),
                index: r.u32()?,
                key: MessageKey::new(r.array()?),
            });
        }
        r.finish()?;
        Ok(Self {
            ad,
            remote,
            base_key,
            pending,
            ratchet: DoubleRatchet {
                core: RatchetCore {
                    root,
                    self_ratchet,
                    remote_ratchet,
                    sending,
                    receiving,
                    previous_sending_length,
                },
                skipped,
            },
        })
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("remote", &self.remote)
            .field("base_key", &self.base_key)
            .field("awaiting_reply", &self.pending.is_some())
            .field("skipped_keys", &self.ratchet.skipped.len())
            .finish_non_exhaustive()
    }
}
