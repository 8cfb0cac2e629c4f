//! History segments (PROTOCOL.md section 9.4):
//! `okm = HKDF(zeros(32), HK, "Estafette/v1/history" || segment_id, 44)`,
//! `Segment = 0x01 || segment_id(16) || AEAD(okm[0..32], okm[32..44], padded(entries), aad = handle)`.

use core::ops::Range;

use zeroize::Zeroizing;

use crate::{
    Error, Result,
    codec::Reader,
    padding::{pad_to, unpad_from},
    ratchet::message_key::{expand, open, seal},
    rng::random_array,
    roaming::{
        history_key::HistoryKey,
        segment_header::{SegmentHeader, decode_entries, encode_entries},
        vault_contents::VaultContents,
    },
};

const FORMAT: u8 = 1;
const INFO: &[u8] = b"Estafette/v1/history";
/// Segment plaintexts are padded to a multiple of this many bytes.
pub const SEGMENT_PADDING_BLOCK: usize = 4096;
/// Largest padded plaintext of a segment (4 MiB); larger ones are refused both ways.
pub const MAX_SEGMENT_PLAINTEXT: usize = 4 * 1024 * 1024;
/// Bytes a segment adds to its padded plaintext: format(1) + id(16) + tag(16).
pub const SEGMENT_OVERHEAD: usize = 33;

/// A segment's identifier: 16 random bytes, fresh for every seal, in clear in the segment.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct SegmentId(pub [u8; 16]);

impl SegmentId {
    /// The id a segment carries, read without a key (e.g. by the relay to index it).
    pub fn of(segment: &[u8]) -> Result<Self> {
        let mut r = Reader::with_version(segment, "history segment", FORMAT)?;
        Ok(Self(r.array()?))
    }
}

/// A sealed segment, ready to store on the relay.
#[derive(Clone, Debug)]
pub struct SealedSegment {
    /// Its fresh id.
    pub id: SegmentId,
    /// `0x01 || segment_id || ciphertext`.
    pub bytes: Vec<u8>,
}

/// An opened segment: its header and its entries, each one CBOR item (the client's encoding).
pub struct OpenedSegment {
    /// The id it was sealed under.
    pub id: SegmentId,
    /// Where it sits in the history.
    pub header: SegmentHeader,
    plaintext: Zeroizing<Vec<u8>>,
    entries: Vec<Range<usize>>,
}

impl OpenedSegment {
    /// The entries, in the order they were sealed.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.entries
            .iter()
            .map(|range| self.plaintext.get(range.clone()).unwrap_or_default())
    }
}

impl core::fmt::Debug for OpenedSegment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpenedSegment")
            .field("id", &self.id)
            .field("header", &self.header)
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

fn segment_key(hk: &HistoryKey, id: &SegmentId) -> (Zeroizing<[u8; 32]>, [u8; 12]) {
    expand(&hk.0, &[INFO, &id.0[..]].concat())
}

impl HistoryKey {
    /// Seals `[header, entries...]` (each entry one CBOR item) for `handle` under a fresh
    /// random segment id.
    pub fn seal_segment(
        &self,
        handle: &str,
        header: &SegmentHeader,
        entries: &[&[u8]],
    ) -> Result<SealedSegment> {
        let id = SegmentId(random_array()?);
        let list = encode_entries(header, entries)?;
        Ok(SealedSegment {
            id,
            bytes: self.seal_padded(handle, &id, &list)?,
        })
    }

    /// The normative layer: pads `plaintext` to 4096 and seals it under `id`.
    pub(crate) fn seal_padded(
        &self,
        handle: &str,
        id: &SegmentId,
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let padded = pad_to(plaintext, SEGMENT_PADDING_BLOCK);
        if padded.len() > MAX_SEGMENT_PLAINTEXT {
            return Err(Error::PlaintextTooLong);
        }
        let (key, nonce) = segment_key(self, id);
        let ct = seal(&key, &nonce, &padded, handle.as_bytes())?;
        let mut out = Vec::with_capacity(SEGMENT_OVERHEAD + padded.len());
        out.push(FORMAT);
        out.extend_from_slice(&id.0);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// The normative layer: opens and unpads; returns the id, the padded plaintext and
    /// the length of what was padded.
    pub(crate) fn open_padded(
        &self,
        handle: &str,
        segment: &[u8],
    ) -> Result<(SegmentId, Zeroizing<Vec<u8>>, usize)> {
        let mut r = Reader::with_version(segment, "history segment", FORMAT)?;
        let id = SegmentId(r.array()?);
        let ct = r.rest();
        if ct.len() < SEGMENT_PADDING_BLOCK + 16 || ct.len() > MAX_SEGMENT_PLAINTEXT + 16 {
            return Err(r.malformed("its length is not that of a padded segment"));
        }
        let (key, nonce) = segment_key(self, &id);
        let padded = open(
            &key,
            &nonce,
            ct,
            handle.as_bytes(),
            Error::SegmentAuthentication,
        )?;
        let len = unpad_from(&padded, SEGMENT_PADDING_BLOCK)?.len();
        Ok((id, padded, len))
    }

    /// Opens a segment sealed for `handle` under this key.
    pub fn open_segment(&self, handle: &str, segment: &[u8]) -> Result<OpenedSegment> {
        let (id, plaintext, len) = self.open_padded(handle, segment)?;
        let (header, entries) = decode_entries(plaintext.get(..len).unwrap_or_default())?;
        Ok(OpenedSegment {
            id,
            header,
            plaintext,
            entries,
        })
    }
}

impl VaultContents {
    /// Opens a segment with the current history key, else with a retired one.
    pub fn open_segment(&self, handle: &str, segment: &[u8]) -> Result<OpenedSegment> {
        for key in self.history_keys() {
            match key.open_segment(handle, segment) {
                Err(Error::SegmentAuthentication) => continue,
                other => return other,
            }
        }
        Err(Error::SegmentAuthentication)
    }
}
