//! `RatchetMessage = header || ct`, header = `0x01 || DHs_pub(32) || PN(u32) || N(u32)`.

use crate::{
    Result, codec::Reader, message::RATCHET_MESSAGE_TYPE, types::curve25519::X25519PublicKey,
};

/// Bytes in a ratchet header.
pub const RATCHET_HEADER_LEN: usize = 41;
const TAG_LEN: usize = 16;

/// The cleartext header of a ratchet message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RatchetHeader {
    /// The sender's current ratchet public key (DHs).
    pub ratchet_key: X25519PublicKey,
    /// Number of messages in the sender's previous sending chain (PN).
    pub previous_chain_length: u32,
    /// Index of this message in the current sending chain (N).
    pub counter: u32,
}

impl RatchetHeader {
    /// The 41-byte encoding.
    pub fn encode(&self) -> [u8; RATCHET_HEADER_LEN] {
        let mut out = [0u8; RATCHET_HEADER_LEN];
        let (ty, rest) = out.split_at_mut(1);
        let (key, rest) = rest.split_at_mut(32);
        let (pn, n) = rest.split_at_mut(4);
        ty.copy_from_slice(&[RATCHET_MESSAGE_TYPE]);
        key.copy_from_slice(self.ratchet_key.as_bytes());
        pn.copy_from_slice(&self.previous_chain_length.to_be_bytes());
        n.copy_from_slice(&self.counter.to_be_bytes());
        out
    }
}

/// A message of an established session.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RatchetMessage {
    /// The cleartext header.
    pub header: RatchetHeader,
    /// AEAD ciphertext and 16-byte tag.
    pub ciphertext: Vec<u8>,
}

impl RatchetMessage {
    /// Parses a ratchet message. The ciphertext must at least hold a tag.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, "ratchet message");
        if r.u8()? != RATCHET_MESSAGE_TYPE {
            return Err(r.malformed("its type byte is not 0x01"));
        }
        let header = RatchetHeader {
            ratchet_key: X25519PublicKey(r.array()?),
            previous_chain_length: r.u32()?,
            counter: r.u32()?,
        };
        let ciphertext = r.rest();
        if ciphertext.len() < TAG_LEN {
            return Err(r.malformed("its ciphertext is shorter than a tag"));
        }
        Ok(Self {
            header,
            ciphertext: ciphertext.to_vec(),
        })
    }

    /// `header || ct`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(RATCHET_HEADER_LEN + self.ciphertext.len());
        out.extend_from_slice(&self.header.encode());
        out.extend_from_slice(&self.ciphertext);
        out
    }
}
