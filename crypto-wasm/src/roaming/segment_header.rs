//! Where a segment sits in the account's history, sealed inside it: the first element of
//! its CBOR entry list. PROTOCOL.md section 9.4 binds a segment to nothing but the
//! account, so a relay could drop, reorder or resurrect segments; this header lets the
//! restoring browser notice (see [`plan_restore`](crate::plan_restore)).

use core::ops::Range;

use minicbor::{Decoder, Encoder};
use zeroize::Zeroizing;

use crate::{Error, Result};

const FIRST: u64 = 0;
const LAST: u64 = 1;
const GENERATION: u64 = 2;
const MAX_HEADER_ENTRIES: u64 = 16;

/// A segment covers the positions `first..=last` of the account's history log. A drain
/// writes one position per segment (`first == last`, the next after the head); a
/// compaction of positions `a..=b` writes segments that partition `a..=b` (at least one,
/// possibly with no entries), with a generation above every segment they replace.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SegmentHeader {
    /// First position covered.
    pub first: u64,
    /// Last position covered (`>= first`).
    pub last: u64,
    /// 0 for a drained segment; one more than the highest replaced one for a compaction.
    pub generation: u64,
}

impl SegmentHeader {
    /// The header of a segment a drain writes at `position` (the head + 1).
    pub const fn drained(position: u64) -> Self {
        Self {
            first: position,
            last: position,
            generation: 0,
        }
    }
}

fn malformed(why: &'static str) -> Error {
    Error::Malformed {
        what: "history segment entries",
        why,
    }
}

fn not_cbor<E>(_: E) -> Error {
    malformed("they are not the expected CBOR")
}

/// `[header, entry...]`: each entry must be one complete CBOR item.
pub(crate) fn encode_entries(
    header: &SegmentHeader,
    entries: &[&[u8]],
) -> Result<Zeroizing<Vec<u8>>> {
    if header.first > header.last {
        return Err(malformed("the header's range is empty"));
    }
    let total = 32 + entries.iter().map(|e| e.len()).sum::<usize>();
    let mut buf = Zeroizing::new(Vec::with_capacity(total));
    let mut e = Encoder::new(&mut *buf);
    e.array(entries.len() as u64 + 1)
        .and_then(|e| e.map(3))
        .and_then(|e| e.u64(FIRST)?.u64(header.first))
        .and_then(|e| e.u64(LAST)?.u64(header.last))
        .and_then(|e| e.u64(GENERATION)?.u64(header.generation))
        .map_err(not_cbor)?;
    for entry in entries {
        let mut d = Decoder::new(entry);
        if d.skip().is_err() || d.position() != entry.len() {
            return Err(malformed("an entry is not exactly one CBOR item"));
        }
        e.writer_mut().extend_from_slice(entry);
    }
    Ok(buf)
}

/// Reads `[header, entry...]`, returning the header and where each entry lies in `bytes`.
pub(crate) fn decode_entries(bytes: &[u8]) -> Result<(SegmentHeader, Vec<Range<usize>>)> {
    let mut d = Decoder::new(bytes);
    let count = d
        .array()
        .map_err(not_cbor)?
        .ok_or_else(|| malformed("the list has no definite length"))?;
    if count == 0 {
        return Err(malformed("the list has no header"));
    }
    let header = decode_header(&mut d)?;
    // Each entry takes at least one byte: a count beyond that is a lie, refused before allocating.
    let remaining = bytes.len().saturating_sub(d.position());
    if count - 1 > remaining as u64 {
        return Err(malformed("the list is shorter than its count"));
    }
    let mut entries = Vec::with_capacity((count - 1) as usize);
    for _ in 1..count {
        let start = d.position();
        d.skip().map_err(not_cbor)?;
        entries.push(start..d.position());
    }
    if d.position() != bytes.len() {
        return Err(malformed("they have trailing bytes"));
    }
    Ok((header, entries))
}

fn decode_header(d: &mut Decoder<'_>) -> Result<SegmentHeader> {
    let n = d
        .map()
        .map_err(not_cbor)?
        .ok_or_else(|| malformed("the header has no definite length"))?;
    if n > MAX_HEADER_ENTRIES {
        return Err(malformed("the header has too many entries"));
    }
    let (mut first, mut last, mut generation) = (None, None, None);
    for _ in 0..n {
        let slot = match d.u64().map_err(not_cbor)? {
            FIRST => &mut first,
            LAST => &mut last,
            GENERATION => &mut generation,
            // Later versions may add fields; this one ignores them.
            _ => {
                d.skip().map_err(not_cbor)?;
                continue;
            }
        };
        if slot.replace(d.u64().map_err(not_cbor)?).is_some() {
            return Err(malformed("a header key appears twice"));
        }
    }
    let missing = || malformed("the header misses a field");
    let header = SegmentHeader {
        first: first.ok_or_else(missing)?,
        last: last.ok_or_else(missing)?,
        generation: generation.ok_or_else(missing)?,
    };
    if header.first > header.last {
        return Err(malformed("the header's range is empty"));
    }
    Ok(header)
}
