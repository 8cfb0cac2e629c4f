//! The Estafette messaging engine, without UI.
//!
//! The app only calls this crate's commands and renders its events; it never
//! touches cryptography, storage or the network directly.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod account;
pub mod bridge;
mod connection;
pub mod content;
pub mod conversation;
pub mod engine;
pub mod group;
pub mod messenger;
mod session_record;
pub mod store;
pub mod transport;

pub use account::{Identity, JoinError, Profile, UnlockError, UserMessage, join, unlock};

pub use connection::{Backoff, ConnectionState};
#[cfg(target_arch = "wasm32")]
pub use connection::{RelayConnection, relay_url_for_page};

/// Software name sent to the relay in `Hello`.
pub const SOFTWARE: &str = concat!("estafette-web/", env!("CARGO_PKG_VERSION"));
