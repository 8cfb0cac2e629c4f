use leptos::prelude::*;

use crate::i18n::{Key, tr};
use crate::session::{Preferences, clean_name, use_session};

/// After joining: the display name, prefilled with the administrator's.
#[component]
pub fn Onboarding() -> impl IntoView {
    let session = use_session();
    let given = session
        .profile
        .with_untracked(|p| p.as_ref().map(|p| p.name.clone()).unwrap_or_default());
    let handle = session
        .profile
        .with_untracked(|p| p.as_ref().map(|p| p.handle.clone()).unwrap_or_default());
    let name = RwSignal::new(given.clone());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = clean_name(&name.get_untracked());
        let display_name = (!chosen.is_empty() && chosen != given).then_some(chosen);
        if display_name.is_some() {
            session.save_preferences(Preferences {
                display_name,
                ..session.preferences.get_untracked()
            });
        }
        session.onboarding.set(false);
    };
    view! {
        <section class="auth-card" aria-labelledby="name-title">
            <ol class="steps" aria-label=tr(Key::JoinStepsLabel)>
                <li class="done"><span class="step-number" aria-hidden="true">1</span><span>{tr(Key::JoinStepWelcome)}</span></li>
                <li class="done"><span class="step-number" aria-hidden="true">2</span><span>{tr(Key::JoinStepPassphrase)}</span></li>
                <li class="current" aria-current="step"><span class="step-number" aria-hidden="true">3</span><span>{tr(Key::JoinStepName)}</span></li>
            </ol>
            <p class="notice success" role="status">{tr(Key::JoinCreated)}</p>
            <h1 id="name-title" tabindex="-1">{tr(Key::JoinNameTitle)}</h1>
            <p class="lead">{tr(Key::JoinNameIntro)}</p>
            <form class="form" on:submit=on_submit>
                <div class="field">
                    <label for="display-name">{tr(Key::SettingsNameLabel)}</label>
                    <input
                        id="display-name"
                        data-testid="display-name"
                        data-autofocus
                        type="text"
                        autocomplete="name"
                        maxlength="80"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                    <p class="hint">{handle}</p>
                </div>
                <div class="actions">
                    <button type="submit" class="button primary" data-testid="join-finish">
                        {tr(Key::JoinNameContinue)}
                    </button>
                </div>
            </form>
        </section>
    }
}
