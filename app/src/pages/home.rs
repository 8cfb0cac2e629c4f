use leptos::prelude::*;

use crate::i18n::{Key, tr};
use crate::session::use_session;

/// The landing page for someone who is not signed in yet.
#[component]
pub fn Home() -> impl IntoView {
    let session = use_session();
    view! {
        <Show when=move || session.erased.get()>
            <div class="notice success" role="status" data-testid="erased-notice">
                {tr(Key::EraseDone)}
            </div>
        </Show>
        <section class="hero" aria-labelledby="home-title">
            <h1 id="home-title" tabindex="-1">{tr(Key::HomeTitle)}</h1>
            <p class="tagline">{tr(Key::AppTagline)}</p>
            <p>{tr(Key::HomeIntro)}</p>
        </section>
        <div class="cards">
            <section class="card" aria-labelledby="join-title">
                <h2 id="join-title">{tr(Key::HomeJoinTitle)}</h2>
                <p>{tr(Key::HomeJoinBody)}</p>
            </section>
            <section class="card" aria-labelledby="privacy-title">
                <h2 id="privacy-title">{tr(Key::HomePrivacyTitle)}</h2>
                <p>{tr(Key::HomePrivacyBody)}</p>
            </section>
        </div>
    }
}
