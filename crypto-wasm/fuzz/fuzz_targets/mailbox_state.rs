//! Opening arbitrary bytes as a mailbox state.
#![no_main]

use estafette_crypto::MailboxKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static KEY: std::sync::OnceLock<Option<MailboxKey>> = std::sync::OnceLock::new();
    if let Some(key) = KEY.get_or_init(|| MailboxKey::generate().ok()) {
        assert!(key.open("alice", data).is_err());
    }
});
