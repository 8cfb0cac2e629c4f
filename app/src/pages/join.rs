use estafette_client::UserMessage;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::status::localized;
use crate::i18n::{Key, fill, tr, use_i18n};
use crate::passphrase::{MIN_CHARS, assess};
use crate::route::{Route, use_router};
use crate::session::use_session;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Welcome,
    Passphrase,
    Working,
    Failed(UserMessage),
}

/// The join journey: welcome, passphrase, keys and registration. The display
/// name step follows once the account exists (`Onboarding`).
#[component]
pub fn JoinPage(token: String) -> impl IntoView {
    let step = RwSignal::new(Step::Welcome);
    let token = StoredValue::new(token);
    let session = use_session();
    let router = use_router();
    let on_passphrase = move |passphrase: String| {
        step.set(Step::Working);
        spawn_local(async move {
            // Let the progress screen paint before key generation takes the thread.
            next_paint().await;
            match session.join(&token.get_value(), &passphrase).await {
                // The link is spent: it must not stay in the history.
                Ok(()) => router.replace(&Route::Home),
                Err(message) => step.set(Step::Failed(message)),
            }
        });
    };
    let on_passphrase = Callback::new(on_passphrase);
    move || match step.get() {
        Step::Welcome => {
            view! { <Welcome on_start=move || step.set(Step::Passphrase) /> }.into_any()
        }
        Step::Passphrase => view! {
            <ChoosePassphrase on_back=move || step.set(Step::Welcome) on_done=on_passphrase />
        }
        .into_any(),
        Step::Working => view! { <Working /> }.into_any(),
        Step::Failed(message) => view! { <Failed message /> }.into_any(),
    }
}

/// Yields to the browser for two animation frames, so the DOM paints.
async fn next_paint() {
    for _ in 0..2 {
        let frame = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.request_animation_frame(&resolve);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(frame).await;
    }
}

#[component]
fn Steps(current: u8) -> impl IntoView {
    let i18n = use_i18n();
    let items = [
        (1u8, Key::JoinStepWelcome),
        (2, Key::JoinStepPassphrase),
        (3, Key::JoinStepName),
    ];
    view! {
        <ol class="steps" aria-label=tr(Key::JoinStepsLabel)>
            {items
                .into_iter()
                .map(|(n, key)| {
                    view! {
                        <li
                            class:done={n < current}
                            class:current={n == current}
                            aria-current=(n == current).then_some("step")
                        >
                            <span class="step-number" aria-hidden="true">{n}</span>
                            <span>{move || i18n.t(key)}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}

#[component]
fn Welcome(on_start: impl Fn() + 'static) -> impl IntoView {
    crate::focus_after_render();
    view! {
        <section class="auth-card" aria-labelledby="join-title">
            <Steps current=1 />
            <h1 id="join-title" tabindex="-1">{tr(Key::JoinWelcomeTitle)}</h1>
            <p class="lead">{tr(Key::JoinWelcomeIntro)}</p>
            <ul class="facts">
                <li>{tr(Key::JoinWelcomeFactKeys)}</li>
                <li>{tr(Key::JoinWelcomeFactPassphrase)}</li>
                <li>{tr(Key::JoinWelcomeFactTime)}</li>
            </ul>
            <div class="actions">
                <button
                    type="button"
                    class="button primary"
                    data-testid="join-start"
                    data-autofocus
                    on:click=move |_| on_start()
                >
                    {tr(Key::JoinWelcomeStart)}
                </button>
            </div>
        </section>
    }
}

#[component]
fn ChoosePassphrase(on_back: impl Fn() + 'static, on_done: Callback<String>) -> impl IntoView {
    let i18n = use_i18n();
    crate::focus_after_render();
    let passphrase = RwSignal::new(String::new());
    let confirmation = RwSignal::new(String::new());
    let visible = RwSignal::new(false);
    let submitted = RwSignal::new(false);
    let assessment = Memo::new(move |_| passphrase.with(|p| assess(p)));
    let matches = move || {
        let p = passphrase.get();
        !p.is_empty() && p == confirmation.get()
    };
    let ready = move || assessment.get().acceptable() && matches();
    let input_type = move || if visible.get() { "text" } else { "password" };
    let strength = move || match assessment.get().score {
        0 => Key::StrengthNone,
        1 => Key::StrengthWeak,
        2 => Key::StrengthFair,
        3 => Key::StrengthGood,
        _ => Key::StrengthStrong,
    };
    let rule = move |ok: bool, key: Key| {
        view! {
            <li class:ok=ok>
                <span class="rule-mark" aria-hidden="true">{if ok { "✓" } else { "•" }}</span>
                <span>{move || i18n.t(key)}</span>
                <span class="visually-hidden">
                    {move || i18n.t(if ok { Key::RuleMet } else { Key::RuleNotMet })}
                </span>
            </li>
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submitted.set(true);
        if ready() {
            on_done.run(passphrase.get_untracked());
        }
    };
    view! {
        <section class="auth-card" aria-labelledby="passphrase-title">
            <Steps current=2 />
            <h1 id="passphrase-title" tabindex="-1">{tr(Key::JoinPassphraseTitle)}</h1>
            <p class="lead">{tr(Key::JoinPassphraseIntro)}</p>
            <form class="form" on:submit=on_submit novalidate>
                <div class="field">
                    <label for="new-passphrase">{tr(Key::JoinPassphraseLabel)}</label>
                    <input
                        id="new-passphrase"
                        data-testid="new-passphrase"
                        data-autofocus
                        type=input_type
                        autocomplete="new-password"
                        spellcheck="false"
                        aria-describedby="passphrase-rules passphrase-strength"
                        prop:value=move || passphrase.get()
                        on:input=move |ev| passphrase.set(event_target_value(&ev))
                    />
                </div>
                <div class="strength" id="passphrase-strength" data-score=move || assessment.get().score>
                    <div class="strength-bar" aria-hidden="true">
                        <span></span>
                        <span></span>
                        <span></span>
                        <span></span>
                    </div>
                    <span class="strength-label">
                        {tr(Key::StrengthLabel)} " " <strong>{move || i18n.t(strength())}</strong>
                    </span>
                </div>
                <ul class="rules" id="passphrase-rules" aria-label=tr(Key::JoinRulesLabel)>
                    {move || {
                        let a = assessment.get();
                        let length_text = fill(
                            i18n.t(Key::JoinRuleLength),
                            &[("n", &MIN_CHARS.to_string())],
                        );
                        view! {
                            <li class:ok=a.long_enough>
                                <span class="rule-mark" aria-hidden="true">
                                    {if a.long_enough { "✓" } else { "•" }}
                                </span>
                                <span>{length_text}</span>
                                <span class="visually-hidden">
                                    {i18n.t(if a.long_enough { Key::RuleMet } else { Key::RuleNotMet })}
                                </span>
                            </li>
                            {rule(a.not_obvious, Key::JoinRuleObvious)}
                            {rule(matches(), Key::JoinRuleMatch)}
                        }
                    }}
                </ul>
                <p class="hint">{tr(Key::JoinPassphraseTip)}</p>
                <div class="field">
                    <label for="confirm-passphrase">{tr(Key::JoinConfirmLabel)}</label>
                    <input
                        id="confirm-passphrase"
                        data-testid="confirm-passphrase"
                        type=input_type
                        autocomplete="new-password"
                        spellcheck="false"
                        aria-invalid=move || (submitted.get() && !matches()).then_some("true")
                        prop:value=move || confirmation.get()
                        on:input=move |ev| confirmation.set(event_target_value(&ev))
                    />
                </div>
                <label class="checkbox">
                    <input
                        type="checkbox"
                        prop:checked=move || visible.get()
                        on:change=move |ev| visible.set(event_target_checked(&ev))
                    />
                    {tr(Key::JoinShowPassphrase)}
                </label>
                <Show when=move || submitted.get() && !ready()>
                    <p class="error-text" role="alert">{tr(Key::JoinPassphraseNotReady)}</p>
                </Show>
                <p class="warning-text">{tr(Key::JoinPassphraseWarning)}</p>
                <div class="actions">
                    <button type="button" class="button" on:click=move |_| on_back()>
                        {tr(Key::CommonBack)}
                    </button>
                    <button type="submit" class="button primary" data-testid="join-create">
                        {tr(Key::JoinCreate)}
                    </button>
                </div>
            </form>
        </section>
    }
}

#[component]
fn Working() -> impl IntoView {
    crate::focus_after_render();
    view! {
        <section class="auth-card" aria-labelledby="working-title" aria-busy="true">
            <Steps current=2 />
            <h1 id="working-title" tabindex="-1">{tr(Key::JoinWorkingTitle)}</h1>
            <div class="progress" role="progressbar" aria-labelledby="working-title">
                <span class="progress-bar"></span>
            </div>
            <ul class="facts" data-testid="join-working">
                <li>{tr(Key::JoinWorkingKeys)}</li>
                <li>{tr(Key::JoinWorkingSeal)}</li>
                <li>{tr(Key::JoinWorkingRegister)}</li>
            </ul>
        </section>
    }
}

#[component]
fn Failed(message: UserMessage) -> impl IntoView {
    let i18n = use_i18n();
    crate::focus_after_render();
    let router = use_router();
    view! {
        <section class="auth-card" aria-labelledby="failed-title">
            <h1 id="failed-title" tabindex="-1">{tr(Key::JoinFailedTitle)}</h1>
            <p class="error-text" role="alert" data-testid="join-error">
                {move || localized(message, i18n.locale())}
            </p>
            <div class="actions">
                <button
                    type="button"
                    class="button primary"
                    data-autofocus
                    on:click=move |_| router.replace(&Route::Home)
                >
                    {tr(Key::JoinFailedHome)}
                </button>
            </div>
        </section>
    }
}
