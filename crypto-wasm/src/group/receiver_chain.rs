//! Another member's chain, as received: verifies, then decrypts, their group
//! messages, in any order within the skip limit, each at most once.

use core::fmt;
use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::{
    GROUP_ID_LEN, GROUP_MESSAGE_KEY_INFO, GroupMessage, MAX_GROUP_SKIPPED_KEYS,
    SenderKeyDistribution,
};
use crate::codec::{Reader, Writer};
use crate::ratchet::chain_key::kdf_ck;
use crate::ratchet::message_key::{expand, open};
use crate::{AccountPublicKey, Error, Result, unpad};

const STATE_VERSION: u8 = 1;

/// A member's sender chain, from its [`SenderKeyDistribution`].
#[derive(Clone)]
pub struct ReceiverChain {
    group_id: [u8; GROUP_ID_LEN],
    chain_id: u32,
    /// The iteration `chain_key` is for.
    iteration: u32,
    chain_key: Zeroizing<[u8; 32]>,
    signing_key: AccountPublicKey,
    /// Message keys of iterations passed over, for late messages; used keys go.
    skipped: BTreeMap<u32, Zeroizing<[u8; 32]>>,
}

impl ReceiverChain {
    /// Starts reading a chain from a distribution received over a pairwise session.
    pub fn new(distribution: &SenderKeyDistribution) -> Self {
        Self {
            group_id: distribution.group_id,
            chain_id: distribution.chain_id,
            iteration: distribution.iteration,
            chain_key: distribution.chain_key.clone(),
            signing_key: distribution.signing_key,
            skipped: BTreeMap::new(),
        }
    }

    /// The group.
    pub fn group_id(&self) -> [u8; GROUP_ID_LEN] {
        self.group_id
    }

    /// The chain's id.
    pub fn chain_id(&self) -> u32 {
        self.chain_id
    }

    /// Skipped message keys held.
    pub fn skipped_keys(&self) -> usize {
        self.skipped.len()
    }

    /// Verifies the signature, then decrypts and unpads. On any failure the
    /// chain is left exactly as it was; a message already read fails.
    pub fn decrypt(&mut self, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let message = GroupMessage::parse(bytes)?;
        if message.group_id != self.group_id || message.chain_id != self.chain_id {
            return Err(Error::GroupMismatch);
        }
        // The signature first: nothing unsigned reaches the AEAD or the chain.
        self.signing_key
            .verify_raw(message.body, &message.signature, "group message")?;
        let mut next = self.clone();
        let mk = next.message_key(message.iteration)?;
        let (key, nonce) = expand(&mk, GROUP_MESSAGE_KEY_INFO);
        let padded = open(
            &key,
            &nonce,
            message.ciphertext,
            message.header,
            Error::Authentication,
        )?;
        let content = Zeroizing::new(unpad(&padded)?.to_vec());
        *self = next;
        Ok(content)
    }

    /// The message key of `iteration`, moving the chain (of this copy) forward.
    fn message_key(&mut self, iteration: u32) -> Result<Zeroizing<[u8; 32]>> {
        if iteration < self.iteration {
            return self
                .skipped
                .remove(&iteration)
                .ok_or(Error::MessageKeyUnavailable);
        }
        let ahead = u64::from(iteration - self.iteration);
        if ahead > MAX_GROUP_SKIPPED_KEYS as u64 {
            return Err(Error::TooManySkippedGroupKeys(ahead));
        }
        while self.iteration < iteration {
            let (next, mk) = kdf_ck(&self.chain_key);
            self.skipped.insert(self.iteration, mk);
            self.chain_key = next;
            self.iteration += 1;
        }
        while self.skipped.len() > MAX_GROUP_SKIPPED_KEYS {
            // Oldest first: the least likely to still arrive.
            self.skipped.pop_first();
        }
        let (next, mk) = kdf_ck(&self.chain_key);
        self.chain_key = next;
        self.iteration = self
            .iteration
            .checked_add(1)
            .ok_or(Error::CounterExhausted)?;
        Ok(mk)
    }

    /// The state to store (secret): `0x01 || group_id(16) || chain_id ||
    /// iteration || CK(32) || signing_pub(32) || count(u32) || (iteration(u32) || mk(32))*`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(STATE_VERSION);
        SenderKeyDistribution {
            group_id: self.group_id,
            chain_id: self.chain_id,
            iteration: self.iteration,
            chain_key: self.chain_key.clone(),
            signing_key: self.signing_key,
        }
        .write_to(&mut w);
        w.len(self.skipped.len());
        for (iteration, key) in &self.skipped {
            w.u32(*iteration).bytes(&key[..]);
        }
        w.finish()
    }

    /// Restores a state written by [`ReceiverChain::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_version(bytes, "receiver chain", STATE_VERSION)?;
        let mut chain = Self::new(&SenderKeyDistribution::read_from(&mut r)?);
        let count = r.len(MAX_GROUP_SKIPPED_KEYS)?;
        let mut previous: Option<u32> = None;
        for _ in 0..count {
            let at = r.u32()?;
            // Canonical: strictly increasing, all before the chain's iteration.
            if at >= chain.iteration || previous.is_some_and(|p| at <= p) {
                return Err(r.malformed("the skipped keys are not in order before the chain"));
            }
            previous = Some(at);
            chain.skipped.insert(at, Zeroizing::new(r.array()?));
        }
        r.finish()?;
        Ok(chain)
    }
}

impl fmt::Debug for ReceiverChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverChain")
            .field("chain_id", &self.chain_id)
            .field("iteration", &self.iteration)
            .field("skipped", &self.skipped.len())
            .finish_non_exhaustive()
    }
}
