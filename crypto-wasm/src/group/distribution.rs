//! SenderKeyDistribution: a sender chain's current public state, sent to each
//! member device over the pairwise sessions (so it is encrypted and
//! authenticated by them).
//!
//! Layout (ours; PROTOCOL.md names the fields, not their order):
//! `0x01 (version) || group_id(16) || chain_id(u32) || iteration(u32) || CK(32) || signing_pub(32)`.

use core::fmt;

use zeroize::Zeroizing;

use super::GROUP_ID_LEN;
use crate::codec::{Reader, Writer};
use crate::{AccountPublicKey, Result};

const VERSION: u8 = 1;

/// Bytes of an encoded [`SenderKeyDistribution`].
pub const SENDER_KEY_DISTRIBUTION_LEN: usize = 1 + GROUP_ID_LEN + 4 + 4 + 32 + 32;

/// What a member needs to read a sender chain from `iteration` on.
#[derive(Clone, PartialEq, Eq)]
pub struct SenderKeyDistribution {
    /// The group.
    pub group_id: [u8; GROUP_ID_LEN],
    /// The sender's chain in this group (a new one after each removal).
    pub chain_id: u32,
    /// The iteration `chain_key` is for.
    pub iteration: u32,
    /// The chain key at `iteration` (secret).
    pub chain_key: Zeroizing<[u8; 32]>,
    /// The chain's signature key.
    pub signing_key: AccountPublicKey,
}

impl SenderKeyDistribution {
    /// The bytes to send (secret: they carry the chain key).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(VERSION);
        self.write_to(&mut w);
        w.finish()
    }

    /// Parses a distribution; the signature key must be a valid Ed25519 key.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_version(bytes, "sender key distribution", VERSION)?;
        let distribution = Self::read_from(&mut r)?;
        r.finish()?;
        Ok(distribution)
    }

    /// The fields after the version byte (also the start of a stored
    /// [`super::ReceiverChain`]).
    pub(super) fn write_to(&self, w: &mut Writer) {
        w.bytes(&self.group_id)
            .u32(self.chain_id)
            .u32(self.iteration)
            .bytes(&self.chain_key[..])
            .bytes(self.signing_key.as_bytes());
    }

    /// Reads what [`Self::write_to`] wrote.
    pub(super) fn read_from(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            group_id: r.array()?,
            chain_id: r.u32()?,
            iteration: r.u32()?,
            chain_key: Zeroizing::new(r.array()?),
            signing_key: AccountPublicKey::from_bytes(r.array()?)?,
        })
    }
}

impl fmt::Debug for SenderKeyDistribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderKeyDistribution")
            .field("chain_id", &self.chain_id)
            .field("iteration", &self.iteration)
            .field("signing_key", &self.signing_key)
            .finish_non_exhaustive()
    }
}
