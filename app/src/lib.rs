//! The Estafette web app: Leptos, rendered in the browser.

mod components;
pub mod i18n;
mod pages;
mod relay;

use leptos::prelude::*;

use components::{ConnectionIndicator, LanguageSwitch};
use i18n::{I18n, Key, use_i18n};
use pages::Home;

/// The whole app: header with connection state and language, then the page.
#[component]
pub fn App() -> impl IntoView {
    provide_context(I18n::new());
    provide_context(relay::use_relay_connection());
    let i18n = use_i18n();
    view! {
        <a class="skip-link" href="#main">{move || i18n.t(Key::AppSkipToContent)}</a>
        <header class="app-header">
            <div class="brand">
                <img class="brand-mark" src="/icon.svg" alt="" width="32" height="32" />
                <span class="brand-name">{move || i18n.t(Key::AppName)}</span>
            </div>
            <div class="header-tools">
                <ConnectionIndicator />
                <LanguageSwitch />
            </div>
        </header>
        <main id="main" tabindex="-1">
            <Home />
        </main>
        <footer class="app-footer">{move || i18n.t(Key::FooterHosted)}</footer>
    }
}
