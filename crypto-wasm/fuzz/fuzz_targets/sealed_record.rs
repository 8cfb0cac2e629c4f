//! Opening arbitrary bytes as a sealed record.
#![no_main]

use estafette_crypto::StorageKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static KEY: std::sync::OnceLock<Option<StorageKey>> = std::sync::OnceLock::new();
    if let Some(key) = KEY.get_or_init(|| StorageKey::generate().ok()) {
        assert!(key.open("store", b"key", data).is_err());
    }
});
