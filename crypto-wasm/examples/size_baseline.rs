//! Size probe baseline: a wasm-bindgen cdylib that does not use the crate.
#![allow(missing_docs)]

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn probe(input: &[u8]) -> Vec<u8> {
    input.iter().rev().copied().collect()
}
