//! Our own sending chain in one group: chain key, iteration and signing key.

use core::fmt;

use zeroize::Zeroizing;

use super::message::header;
use super::{GROUP_ID_LEN, GROUP_MESSAGE_KEY_INFO, SenderKeyDistribution};
use crate::codec::{Reader, Writer};
use crate::ratchet::chain_key::kdf_ck;
use crate::ratchet::message_key::{expand, seal};
use crate::rng::random_array;
use crate::types::ed25519::Ed25519SigningKey;
use crate::{Error, Result, pad};

const STATE_VERSION: u8 = 1;

/// A sender chain: encrypts and signs this device's messages to one group.
#[derive(Clone)]
pub struct SenderChain {
    group_id: [u8; GROUP_ID_LEN],
    chain_id: u32,
    iteration: u32,
    chain_key: Zeroizing<[u8; 32]>,
    signing_key: Ed25519SigningKey,
}

impl SenderChain {
    /// A fresh chain (random chain key and signing key) for `group_id`.
    /// After a member leaves, start `chain_id + 1`.
    pub fn generate(group_id: [u8; GROUP_ID_LEN], chain_id: u32) -> Result<Self> {
        Ok(Self {
            group_id,
            chain_id,
            iteration: 0,
            chain_key: Zeroizing::new(random_array()?),
            signing_key: Ed25519SigningKey::generate()?,
        })
    }

    /// A chain from known parts (known-answer tests, restoring).
    pub(crate) fn from_parts(
        group_id: [u8; GROUP_ID_LEN],
        chain_id: u32,
        iteration: u32,
        chain_key: [u8; 32],
        signing_seed: &[u8; 32],
    ) -> Self {
        Self {
            group_id,
            chain_id,
            iteration,
            chain_key: Zeroizing::new(chain_key),
            signing_key: Ed25519SigningKey::from_seed(signing_seed),
        }
    }

    /// The group.
    pub fn group_id(&self) -> [u8; GROUP_ID_LEN] {
        self.group_id
    }

    /// This chain's id.
    pub fn chain_id(&self) -> u32 {
        self.chain_id
    }

    /// The iteration of the next message.
    pub fn iteration(&self) -> u32 {
        self.iteration
    }

    /// The state a member needs to read this chain from the next message on.
    pub fn distribution(&self) -> SenderKeyDistribution {
        SenderKeyDistribution {
            group_id: self.group_id,
            chain_id: self.chain_id,
            iteration: self.iteration,
            chain_key: self.chain_key.clone(),
            signing_key: self.signing_key.public(),
        }
    }

    /// Pads, encrypts and signs `content` as the next GroupMessage; the chain
    /// key moves forward (the old one is gone).
    pub fn encrypt(&mut self, content: &[u8]) -> Result<Vec<u8>> {
        let next_iteration = self
            .iteration
            .checked_add(1)
            .ok_or(Error::CounterExhausted)?;
        let (next_key, mk) = kdf_ck(&self.chain_key);
        let (key, nonce) = expand(&mk, GROUP_MESSAGE_KEY_INFO);
        let mut body = header(&self.group_id, self.chain_id, self.iteration);
        let ciphertext = seal(&key, &nonce, &pad(content), &body)?;
        body.extend_from_slice(&ciphertext);
        let signature = self.signing_key.sign_raw(&body);
        body.extend_from_slice(&signature);
        self.chain_key = next_key;
        self.iteration = next_iteration;
        Ok(body)
    }

    /// The state to store (secret):
    /// `0x01 || group_id(16) || chain_id || iteration || CK(32) || signing_seed(32)`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(STATE_VERSION);
        w.bytes(&self.group_id)
            .u32(self.chain_id)
            .u32(self.iteration)
            .bytes(&self.chain_key[..])
            .bytes(&self.signing_key.seed()[..]);
        w.finish()
    }

    /// Restores a state written by [`SenderChain::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_version(bytes, "sender chain", STATE_VERSION)?;
        let group_id = r.array()?;
        let chain_id = r.u32()?;
        let iteration = r.u32()?;
        let chain_key: Zeroizing<[u8; 32]> = Zeroizing::new(r.array()?);
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(r.array()?);
        r.finish()?;
        Ok(Self::from_parts(
            group_id, chain_id, iteration, *chain_key, &seed,
        ))
    }
}

impl fmt::Debug for SenderChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderChain")
            .field("chain_id", &self.chain_id)
            .field("iteration", &self.iteration)
            .finish_non_exhaustive()
    }
}
