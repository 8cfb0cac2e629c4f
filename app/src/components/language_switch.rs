use leptos::prelude::*;

use crate::i18n::{Key, tr, use_i18n};

/// One button that switches between French and English.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <button
            type="button"
            class="language-switch"
            data-testid="language-switch"
            lang=move || i18n.locale().other().tag()
            aria-label=tr(Key::LanguageSwitchLabel)
            on:click=move |_| i18n.set_locale(i18n.locale().other())
        >
            {tr(Key::LanguageSwitch)}
        </button>
    }
}
