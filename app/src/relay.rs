//! The relay connection as signals, leptos-use style: the `App` provides it,
//! components read it.

use estafette_client::ConnectionState;
use leptos::prelude::*;

/// Reactive view of the link to the relay.
#[derive(Clone, Copy)]
pub struct RelayLink {
    /// Current state; updated by the connection's task.
    pub state: ReadSignal<ConnectionState>,
}

/// Opens the relay connection of this page (in the browser) and exposes its state.
pub fn use_relay_connection() -> RelayLink {
    let (state, set_state) = signal(ConnectionState::Connecting);
    #[cfg(target_arch = "wasm32")]
    if let Some(url) = estafette_client::relay_url_for_page() {
        let connection = estafette_client::RelayConnection::start(url, move |s| set_state.set(s));
        // Lives as long as the app; dropping it would stop reconnecting.
        StoredValue::new_local(connection);
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = set_state;
    RelayLink { state }
}
