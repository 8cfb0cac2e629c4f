//! Which segments a restoring browser keeps, from their sealed headers: the newest
//! generation wins where ranges overlap, and positions no segment covers are reported.

use std::collections::BTreeMap;

use crate::roaming::{segment::SegmentId, segment_header::SegmentHeader};

/// The outcome of [`plan_restore`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestorePlan {
    /// The segments to apply, in history order.
    pub ordered: Vec<SegmentId>,
    /// Segments a later compaction replaced (a relay that kept or resurrected them, or a
    /// compaction not finished on the relay): ignore them.
    pub superseded: Vec<SegmentId>,
    /// Segments overlapping another of the same generation: the relay or a writer
    /// misbehaved. The first one in `ordered` order was kept.
    pub conflicting: Vec<SegmentId>,
    /// Position ranges (inclusive) no kept segment covers, up to `head`: history the
    /// relay did not hand out. Show that history is incomplete.
    pub missing: Vec<(u64, u64)>,
}

/// Plans a restore from every segment's id and header, and `head`, the last position the
/// mailbox state says was written (`None` if unknown: then only inner gaps are found).
pub fn plan_restore(segments: &[(SegmentId, SegmentHeader)], head: Option<u64>) -> RestorePlan {
    let mut by_age: Vec<&(SegmentId, SegmentHeader)> = segments.iter().collect();
    by_age.sort_by(|(a_id, a), (b_id, b)| {
        b.generation
            .cmp(&a.generation)
            .then(a.first.cmp(&b.first))
            .then(a_id.cmp(b_id))
    });
    let mut plan = RestorePlan::default();
    // Kept ranges, disjoint: first -> (last, generation, id).
    let mut kept: BTreeMap<u64, (u64, u64, SegmentId)> = BTreeMap::new();
    for (id, header) in by_age {
        // Kept ranges are disjoint, so only the one starting last at or before
        // `header.last` can overlap.
        let overlap = kept
            .range(..=header.last)
            .next_back()
            .filter(|(_, (last, _, _))| *last >= header.first)
            .map(|(_, (_, generation, _))| *generation);
        match overlap {
            Some(generation) if generation > header.generation => plan.superseded.push(*id),
            Some(_) => plan.conflicting.push(*id),
            None => {
                kept.insert(header.first, (header.last, header.generation, *id));
            }
        }
    }
    let mut next = Some(0u64);
    for (first, (last, _, id)) in &kept {
        if let Some(expected) = next.filter(|expected| first > expected) {
            plan.missing.push((expected, first - 1));
        }
        plan.ordered.push(*id);
        next = last.checked_add(1);
    }
    if let (Some(expected), Some(head)) = (next, head)
        && expected <= head
    {
        plan.missing.push((expected, head));
    }
    plan
}
