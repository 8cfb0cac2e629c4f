//! GroupMessage (PROTOCOL.md section 6):
//! `body = 0x03 || group_id(16) || chain_id(u32) || iteration(u32) || ct`,
//! `GroupMessage = body || SIG.sign(signing_key, body)`; the AEAD's associated
//! data is the header (the body before `ct`). The signature covers the body
//! itself, with no context prefix: the key signs nothing else.

use super::GROUP_ID_LEN;
use crate::codec::Reader;
use crate::{Error, Result};

/// First byte of a group message.
pub const GROUP_MESSAGE_TYPE: u8 = 0x03;

/// Bytes before the ciphertext.
pub const GROUP_MESSAGE_HEADER_LEN: usize = 1 + GROUP_ID_LEN + 4 + 4;

const TAG_LEN: usize = 16;
const SIGNATURE_LEN: usize = 64;

/// A parsed group message; nothing is verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMessage<'a> {
    /// The group.
    pub group_id: [u8; GROUP_ID_LEN],
    /// The sender's chain.
    pub chain_id: u32,
    /// The message's position in the chain.
    pub iteration: u32,
    /// The header: the AEAD's associated data.
    pub(crate) header: &'a [u8],
    /// The ciphertext and tag.
    pub(crate) ciphertext: &'a [u8],
    /// What the signature covers: header and ciphertext.
    pub(crate) body: &'a [u8],
    /// The signature.
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

impl<'a> GroupMessage<'a> {
    /// Parses `bytes`; it refuses anything that is not a well-formed group message.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let malformed = |why| Error::Malformed {
            what: "group message",
            why,
        };
        if bytes.len() < GROUP_MESSAGE_HEADER_LEN + TAG_LEN + SIGNATURE_LEN {
            return Err(malformed("it is too short"));
        }
        let (body, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
        let (header, ciphertext) = body.split_at(GROUP_MESSAGE_HEADER_LEN);
        let mut r = Reader::new(header, "group message");
        if r.u8()? != GROUP_MESSAGE_TYPE {
            return Err(malformed("its type byte is not 0x03"));
        }
        let group_id = r.array()?;
        let chain_id = r.u32()?;
        let iteration = r.u32()?;
        r.finish()?;
        let mut sig = [0u8; SIGNATURE_LEN];
        sig.copy_from_slice(signature);
        Ok(Self {
            group_id,
            chain_id,
            iteration,
            header,
            ciphertext,
            body,
            signature: sig,
        })
    }
}

/// The header of a message at `iteration` of `chain_id` in `group_id`.
pub(crate) fn header(group_id: &[u8; GROUP_ID_LEN], chain_id: u32, iteration: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(GROUP_MESSAGE_HEADER_LEN);
    out.push(GROUP_MESSAGE_TYPE);
    out.extend_from_slice(group_id);
    out.extend_from_slice(&chain_id.to_be_bytes());
    out.extend_from_slice(&iteration.to_be_bytes());
    out
}
