//! Restoring every kind of saved state from arbitrary bytes; the first byte picks the kind.
#![no_main]

use estafette_crypto::{Account, Device, PreKeyStore, Session, StorageKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((kind, rest)) = data.split_first() else {
        return;
    };
    match kind % 5 {
        0 => {
            if let Ok(s) = Session::from_bytes(rest) {
                assert_eq!(&s.to_bytes()[..], rest);
            }
        }
        1 => {
            if let Ok(s) = PreKeyStore::from_bytes(rest) {
                let _ = s.to_bytes();
            }
        }
        2 => {
            let _ = Account::from_bytes(rest);
        }
        3 => {
            let _ = Device::from_bytes(rest);
        }
        _ => {
            // Cheap parameters only: the fuzzer must not spend its time in Argon2.
            if StorageKey::wrapped_params(rest).is_ok_and(|p| p.memory_kib <= 64 && p.iterations <= 1) {
                let _ = StorageKey::unwrap(rest, b"passphrase");
            }
        }
    }
});
