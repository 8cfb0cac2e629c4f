//! Size probe: the same cdylib, reaching every part of the crate a client uses.
#![allow(missing_docs)]

#[cfg(target_arch = "wasm32")]
include!("common/probe_body.rs");
