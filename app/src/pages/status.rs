use estafette_client::UserMessage;
use leptos::prelude::*;

use crate::components::EraseAccount;
use crate::i18n::{Key, Locale, tr, use_i18n};

/// The message in the interface language.
pub fn localized(message: UserMessage, locale: Locale) -> &'static str {
    match locale {
        Locale::Fr => message.fr,
        Locale::En => message.en,
    }
}

/// A dead end: the account cannot continue in this browser.
#[component]
pub fn Stopped(message: UserMessage) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="auth-card" aria-labelledby="stopped-title">
            <h1 id="stopped-title" tabindex="-1">{tr(Key::StoppedTitle)}</h1>
            <p class="error-text" role="alert">{move || localized(message, i18n.locale())}</p>
            <p>{tr(Key::StoppedBody)}</p>
            <EraseAccount />
        </section>
    }
}

/// The worker could not start or died (docs/app.md, "Two parts"): nothing
/// works until the page is loaded again.
#[component]
pub fn Unavailable() -> impl IntoView {
    let reload = |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.location().reload();
        }
    };
    view! {
        <section class="auth-card" aria-labelledby="unavailable-title" data-testid="unavailable">
            <h1 id="unavailable-title" tabindex="-1">{tr(Key::UnavailableTitle)}</h1>
            <p class="error-text" role="alert">{tr(Key::UnavailableBody)}</p>
            <p>
                <button type="button" class="button primary" data-testid="reload" on:click=reload>
                    {tr(Key::UnavailableReload)}
                </button>
            </p>
            <EraseAccount />
        </section>
    }
}
