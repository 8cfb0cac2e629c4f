use leptos::prelude::*;

use crate::i18n::{Key, use_i18n};
use crate::session::use_session;

/// The landing page for someone who is not signed in yet.
#[component]
pub fn Home() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    view! {
        <Show when=move || session.erased.get()>
            <div class="notice success" role="status" data-testid="erased-notice">
                {move || i18n.t(Key::EraseDone)}
            </div>
        </Show>
        <section class="hero" aria-labelledby="home-title">
            <h1 id="home-title" tabindex="-1">{move || i18n.t(Key::HomeTitle)}</h1>
            <p class="tagline">{move || i18n.t(Key::AppTagline)}</p>
            <p>{move || i18n.t(Key::HomeIntro)}</p>
        </section>
        <div class="cards">
            <section class="card" aria-labelledby="join-title">
                <h2 id="join-title">{move || i18n.t(Key::HomeJoinTitle)}</h2>
                <p>{move || i18n.t(Key::HomeJoinBody)}</p>
            </section>
            <section class="card" aria-labelledby="privacy-title">
                <h2 id="privacy-title">{move || i18n.t(Key::HomePrivacyTitle)}</h2>
                <p>{move || i18n.t(Key::HomePrivacyBody)}</p>
            </section>
        </div>
    }
}
