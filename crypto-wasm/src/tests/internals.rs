//! Behaviour of internal building blocks that the public API cannot reach directly.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::{
    Error, X25519PublicKey,
    ratchet::skipped_keys::{SkippedKey, SkippedKeys},
    ratchet::{MAX_STORED_SKIPPED_KEYS, message_key::MessageKey},
    types::curve25519::X25519KeyPair,
};

#[test]
fn all_zero_diffie_hellman_is_refused() {
    let pair = X25519KeyPair::generate().unwrap();
    // The identity point and a point of order 8 both give an all-zero output.
    for low_order in [[0u8; 32], {
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    }] {
        assert_eq!(
            pair.diffie_hellman(&X25519PublicKey::from_bytes(low_order)),
            Err(Error::NonContributoryKey)
        );
    }
}

#[test]
fn skipped_key_store_evicts_oldest_first() {
    let mut store = SkippedKeys::default();
    let ratchet_key = X25519PublicKey::from_bytes([9; 32]);
    let keys = (0..MAX_STORED_SKIPPED_KEYS as u32 + 5)
        .map(|index| SkippedKey {
            ratchet_key,
            index,
            key: MessageKey::new([1; 32]),
        })
        .collect();
    store.extend(keys);
    assert_eq!(store.len(), MAX_STORED_SKIPPED_KEYS);
    assert!(store.get(&ratchet_key, 4).is_none());
    assert!(store.get(&ratchet_key, 5).is_some());
    assert!(
        store
            .get(&ratchet_key, MAX_STORED_SKIPPED_KEYS as u32 + 4)
            .is_some()
    );
}

#[test]
fn secrets_do_not_appear_in_debug_output() {
    let pair = X25519KeyPair::from_secret_bytes([0xAB; 32]);
    let printed = format!("{pair:?}");
    assert!(!printed.contains("abab"), "{printed}");
    let account = crate::Account::generate().unwrap();
    let seed = hex::encode(account.aik.seed().as_slice());
    assert!(!format!("{account:?}").contains(&seed));
    let key = crate::StorageKey::generate().unwrap();
    assert_eq!(format!("{key:?}"), "StorageKey(..)");
}
