//! History segments: opening arbitrary bytes fails; sealing arbitrary entries either is
//! refused or opens to the same header and entries. The first byte picks which.
#![no_main]

use estafette_crypto::{HistoryKey, SegmentHeader, SegmentId};
use libfuzzer_sys::fuzz_target;

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = bytes.get(at..at + 8) {
        b.copy_from_slice(s);
    }
    u64::from_be_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    static KEY: std::sync::OnceLock<Option<HistoryKey>> = std::sync::OnceLock::new();
    let (Some((kind, rest)), Some(key)) = (
        data.split_first(),
        KEY.get_or_init(|| HistoryKey::generate().ok()),
    ) else {
        return;
    };
    if kind % 2 == 0 {
        let _ = SegmentId::of(rest);
        assert!(key.open_segment("alice", rest).is_err());
        return;
    }
    // header(24) then entries, each prefixed by its length (one byte).
    let header = SegmentHeader {
        first: u64_at(rest, 0),
        last: u64_at(rest, 8),
        generation: u64_at(rest, 16),
    };
    let mut entries = Vec::new();
    let mut tail = rest.get(24..).unwrap_or_default();
    while let Some((&len, more)) = tail.split_first() {
        let (entry, next) = more.split_at(usize::from(len).min(more.len()));
        entries.push(entry);
        tail = next;
    }
    if let Ok(sealed) = key.seal_segment("alice", &header, &entries) {
        let opened = key
            .open_segment("alice", &sealed.bytes)
            .expect("a sealed segment opens");
        assert_eq!(opened.header, header);
        assert!(opened.entries().eq(entries.iter().copied()));
    }
});
