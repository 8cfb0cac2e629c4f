//! The Double Ratchet state machine (Signal Double Ratchet, revision 4).
//!
//! Decryption works on a copy of the small state and on a list of newly skipped
//! keys, and commits both only once the message authenticated, so a forged,
//! altered or replayed message changes nothing.

use zeroize::Zeroizing;

use crate::{
    Error, Result,
    message::ratchet_message::{RatchetHeader, RatchetMessage},
    padding,
    ratchet::{
        MAX_SKIP,
        chain_key::ChainKey,
        root_key::RootKey,
        skipped_keys::{SkippedKey, SkippedKeys},
    },
    types::curve25519::{X25519KeyPair, X25519PublicKey},
};

/// `AD = DIK_A_pub || DIK_B_pub`.
pub(crate) type AssociatedData = [u8; 64];

#[derive(Clone)]
pub(crate) struct RatchetCore {
    pub(crate) root: RootKey,
    /// DHs.
    pub(crate) self_ratchet: X25519KeyPair,
    /// DHr.
    pub(crate) remote_ratchet: Option<X25519PublicKey>,
    /// CKs with Ns as its index.
    pub(crate) sending: Option<ChainKey>,
    /// CKr with Nr as its index.
    pub(crate) receiving: Option<ChainKey>,
    /// PN.
    pub(crate) previous_sending_length: u32,
}

#[derive(Clone)]
pub(crate) struct DoubleRatchet {
    pub(crate) core: RatchetCore,
    pub(crate) skipped: SkippedKeys,
}

fn aad(ad: &AssociatedData, header: &RatchetHeader) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 41);
    out.extend_from_slice(ad);
    out.extend_from_slice(&header.encode());
    out
}

impl DoubleRatchet {
    /// Alice: `DHs = GENERATE_DH(); DHr = SPK_B; RK, CKs = KDF_RK(SK, DH(DHs, DHr))`.
    pub(crate) fn new_initiator(sk: &[u8; 32], their_spk: X25519PublicKey) -> Result<Self> {
        Self::new_initiator_with(sk, their_spk, X25519KeyPair::generate()?)
    }

    pub(crate) fn new_initiator_with(
        sk: &[u8; 32],
        their_spk: X25519PublicKey,
        self_ratchet: X25519KeyPair,
    ) -> Result<Self> {
        let dh = self_ratchet.diffie_hellman(&their_spk)?;
        let (root, sending) = RootKey::new(*sk).advance(&dh);
        Ok(Self {
            core: RatchetCore {
                root,
                self_ratchet,
                remote_ratchet: Some(their_spk),
                sending: Some(sending),
                receiving: None,
                previous_sending_length: 0,
            },
            skipped: SkippedKeys::default(),
        })
    }

    /// Bob: `DHs = SPK_B key pair; DHr = None; RK = SK; CKs = CKr = None`.
    pub(crate) fn new_responder(sk: &[u8; 32], spk: X25519KeyPair) -> Self {
        Self {
            core: RatchetCore {
                root: RootKey::new(*sk),
                self_ratchet: spk,
                remote_ratchet: None,
                sending: None,
                receiving: None,
                previous_sending_length: 0,
            },
            skipped: SkippedKeys::default(),
        }
    }

    /// Pads `content` (section 5) and encrypts it under the next sending message key.
    pub(crate) fn encrypt(
        &mut self,
        content: &[u8],
        ad: &AssociatedData,
    ) -> Result<RatchetMessage> {
        let chain = self.core.sending.as_ref().ok_or(Error::NoSendingChain)?;
        let (mk, next) = chain.step()?;
        let header = RatchetHeader {
            ratchet_key: self.core.self_ratchet.public(),
            previous_chain_length: self.core.previous_sending_length,
            counter: chain.index,
        };
        let padded = padding::pad(content);
        let ciphertext = mk.encrypt(&padded, &aad(ad, &header))?;
        self.core.sending = Some(next);
        Ok(RatchetMessage { header, ciphertext })
    }

    /// Decrypts and unpads; on any error the state is exactly as before.
    pub(crate) fn decrypt(
        &mut self,
        message: &RatchetMessage,
        ad: &AssociatedData,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let header = &message.header;
        let aad = aad(ad, header);

        if let Some(mk) = self.skipped.get(&header.ratchet_key, header.counter) {
            let padded = mk.decrypt(&message.ciphertext, &aad)?;
            let content = Zeroizing::new(padding::unpad(&padded)?.to_vec());
            self.skipped.remove(&header.ratchet_key, header.counter);
            return Ok(content);
        }

        let mut core = self.core.clone();
        let mut newly_skipped = Vec::new();

        if core.remote_ratchet != Some(header.ratchet_key) {
            let behind = match (&core.receiving, core.remote_ratchet) {
                (Some(ck), Some(_)) => {
                    u64::from(header.previous_chain_length).saturating_sub(u64::from(ck.index))
                }
                _ => 0,
            };
            let to_skip = behind + u64::from(header.counter);
            if to_skip > u64::from(MAX_SKIP) {
                return Err(Error::TooManySkippedKeys(to_skip));
            }
            if let (Some(ck), Some(remote)) = (core.receiving.take(), core.remote_ratchet) {
                skip_until(ck, header.previous_chain_length, remote, &mut newly_skipped)?;
            }
            core.previous_sending_length = core.sending.as_ref().map_or(0, |ck| ck.index);
            core.remote_ratchet = Some(header.ratchet_key);
            let dh = core.self_ratchet.diffie_hellman(&header.ratchet_key)?;
            let (root, receiving) = core.root.advance(&dh);
            core.self_ratchet = X25519KeyPair::generate()?;
            let dh = core.self_ratchet.diffie_hellman(&header.ratchet_key)?;
            let (root, sending) = root.advance(&dh);
            core.root = root;
            core.receiving = Some(receiving);
            core.sending = Some(sending);
        } else {
            let index = core.receiving.as_ref().map_or(0, |ck| ck.index);
            if header.counter < index || core.receiving.is_none() {
                return Err(Error::MessageKeyUnavailable);
            }
            let ahead = u64::from(header.counter - index);
            if ahead > u64::from(MAX_SKIP) {
                return Err(Error::TooManySkippedKeys(ahead));
            }
        }

        let chain = core.receiving.take().ok_or(Error::MessageKeyUnavailable)?;
        let chain = skip_until(
            chain,
            header.counter,
            header.ratchet_key,
            &mut newly_skipped,
        )?;
        let (mk, next) = chain.step()?;
        let padded = mk.decrypt(&message.ciphertext, &aad)?;
        let content = Zeroizing::new(padding::unpad(&padded)?.to_vec());

        core.receiving = Some(next);
        self.core = core;
        self.skipped.extend(newly_skipped);
        Ok(content)
    }
}

/// Steps `chain` up to index `until`, recording each skipped message key.
fn skip_until(
    mut chain: ChainKey,
    until: u32,
    ratchet_key: X25519PublicKey,
    out: &mut Vec<SkippedKey>,
) -> Result<ChainKey> {
    while chain.index < until {
        let (key, next) = chain.step()?;
        out.push(SkippedKey {
            ratchet_key,
            index: chain.index,
            key,
        });
        chain = next;
    }
    Ok(chain)
}
