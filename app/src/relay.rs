//! The link to the relay as a signal, leptos-use style: the `App` provides it,
//! components read it. Before an account is unlocked an anonymous connection
//! feeds it; once the engine runs, the engine's own connection does (one
//! socket at a time).

use estafette_client::ConnectionState;
use leptos::prelude::*;

/// Reactive view of the link to the relay.
#[derive(Clone, Copy)]
pub struct RelayLink {
    /// Current state.
    pub state: RwSignal<ConnectionState>,
    #[cfg(target_arch = "wasm32")]
    anonymous: StoredValue<Option<estafette_client::RelayConnection>, LocalStorage>,
}

impl RelayLink {
    /// Starts the anonymous connection of this page.
    pub fn new() -> Self {
        let link = Self {
            state: RwSignal::new(ConnectionState::Connecting),
            #[cfg(target_arch = "wasm32")]
            anonymous: StoredValue::new_local(None),
        };
        link.start_anonymous();
        link
    }

    /// (Re)starts the anonymous connection, if it is not running.
    pub fn start_anonymous(&self) {
        #[cfg(target_arch = "wasm32")]
        if self.anonymous.with_value(Option::is_none)
            && let Some(url) = estafette_client::relay_url_for_page()
        {
            let state = self.state;
            let connection = estafette_client::RelayConnection::start(url, move |s| state.set(s));
            self.anonymous.set_value(Some(connection));
        }
    }

    /// Stops the anonymous connection (the engine has its own).
    pub fn stop_anonymous(&self) {
        #[cfg(target_arch = "wasm32")]
        self.anonymous.set_value(None);
    }
}

impl Default for RelayLink {
    fn default() -> Self {
        Self::new()
    }
}
