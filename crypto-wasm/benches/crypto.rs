//! Native benchmarks: `cargo bench -p estafette-crypto`. The browser figures come from
//! `tests/wasm_bench.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[cfg(not(target_arch = "wasm32"))]
include!("native/benches.rs");

#[cfg(target_arch = "wasm32")]
fn main() {}
