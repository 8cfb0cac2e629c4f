//! Tests that need crate internals: known-answer tests for every derivation step.

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod internals;
mod kat;
mod roaming_kat;
