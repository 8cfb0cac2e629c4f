//! Long conversations with random interleaving, reordering and loss.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[cfg(not(target_arch = "wasm32"))]
proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, ..Default::default() })]

    /// 1,000 messages, each delivered one decrypts exactly once.
    #[test]
    fn thousand_messages_with_reordering_and_loss(seed in proptest::prelude::any::<u64>(), loss in 0usize..20) {
        let delivered = common::random_conversation(seed, 1000, loss);
        proptest::prop_assert!(delivered > 0);
    }
}

/// The same scenario with fixed schedules (this one also runs in the browser).
#[test]
fn thousand_messages_fixed_schedule() {
    let delivered = common::random_conversation(0x5eed_1234, 1000, 10);
    assert!(delivered > 800);
}
