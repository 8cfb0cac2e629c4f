//! The link to the relay as a signal, leptos-use style: the `App` provides it,
//! components read it. The worker owns the link (docs/app.md, "Two parts"):
//! an anonymous connection before an account is unlocked, the engine's own
//! afterwards (one socket at a time); the session passes on its state.

use estafette_client::ConnectionState;
use leptos::prelude::*;

/// Reactive view of the link to the relay.
#[derive(Clone, Copy)]
pub struct RelayLink {
    /// Current state.
    pub state: RwSignal<ConnectionState>,
}

impl RelayLink {
    /// Connecting, until the worker says more.
    pub fn new() -> Self {
        Self {
            state: RwSignal::new(ConnectionState::Connecting),
        }
    }
}

impl Default for RelayLink {
    fn default() -> Self {
        Self::new()
    }
}
