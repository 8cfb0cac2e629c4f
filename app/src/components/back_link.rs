//! The back arrow at the start of a pane's header: below 48 rem one pane
//! shows at a time, and this is the way back.

use leptos::prelude::*;

use crate::i18n::{Key, tr};

/// A link to `href`, its spoken name `label`.
#[component]
pub fn BackLink(#[prop(into)] href: Signal<String>, label: Key) -> impl IntoView {
    view! {
        <a class="back-link" href=href aria-label=tr(label)>
            <svg viewBox="0 0 24 24" class="icon" aria-hidden="true">
                <path d="M15 5l-7 7 7 7" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />
            </svg>
        </a>
    }
}
