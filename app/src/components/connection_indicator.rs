use estafette_client::ConnectionState;
use leptos::prelude::*;

use crate::i18n::{Key, fill, tr, use_i18n};
use crate::relay::RelayLink;

/// Shows, and announces to screen readers, the state of the link to the relay.
#[component]
pub fn ConnectionIndicator() -> impl IntoView {
    let i18n = use_i18n();
    let link = expect_context::<RelayLink>();
    let label = move || match link.state.get() {
        ConnectionState::Connecting => i18n.t(Key::ConnectionConnecting).to_owned(),
        ConnectionState::Connected => i18n.t(Key::ConnectionConnected).to_owned(),
        ConnectionState::Reconnecting { retry_in_ms, .. } if retry_in_ms >= 2_000 => {
            let seconds = retry_in_ms.div_ceil(1_000).to_string();
            fill(
                i18n.t(Key::ConnectionReconnectingIn),
                &[("seconds", &seconds)],
            )
        }
        ConnectionState::Reconnecting { .. } => i18n.t(Key::ConnectionReconnecting).to_owned(),
        ConnectionState::Offline => i18n.t(Key::ConnectionOffline).to_owned(),
    };
    view! {
        <div
            class="connection"
            data-testid="connection"
            data-state=move || link.state.get().as_str()
            role="status"
            aria-live="polite"
            aria-label=tr(Key::ConnectionLabel)
        >
            <span class="connection-dot" aria-hidden="true"></span>
            <span class="connection-text">{label}</span>
        </div>
    }
}
