use leptos::prelude::*;

use crate::i18n::{Key, fill, use_i18n};
use crate::session::use_session;

/// Announces new messages from others to screen readers (polite).
#[component]
pub fn LiveRegion() -> impl IntoView {
    let i18n = use_i18n();
    let chat = use_session().chat;
    let announcement = move || {
        chat.arrival.get().map(|arrival| {
            fill(
                i18n.t(Key::ChatAnnounceMessage),
                &[("name", &arrival.from), ("text", &arrival.text)],
            )
        })
    };
    view! {
        <div class="visually-hidden" role="status" aria-live="polite" data-testid="live-region">
            {announcement}
        </div>
    }
}
