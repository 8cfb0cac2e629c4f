use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::EraseAccount;
use crate::i18n::{Key, fill, tr, use_i18n};
use crate::session::{LockReason, UnlockFailure, use_session};

/// Seconds to wait after the `failures`-th wrong passphrase: 1, 2, 4, … 30.
pub fn retry_delay_s(failures: u32) -> u32 {
    match failures {
        0 => 0,
        n => 1u32.checked_shl(n - 1).unwrap_or(u32::MAX).min(30),
    }
}

/// Where wrong attempts are counted, so a reload does not reset the delay
/// (a device fact, not account data; erase clears it, a success too).
const ATTEMPTS_KEY: &str = "estafette.unlock-attempts";

/// `(failures, wait until ms)` saved by [`save_attempts`].
fn load_attempts() -> (u32, f64) {
    let saved = crate::local::storage().and_then(|s| s.get_item(ATTEMPTS_KEY).ok().flatten());
    saved
        .as_deref()
        .and_then(|text| text.split_once(','))
        // Integers only: float parsing and printing would add ~20 KB to the wasm.
        .and_then(|(n, until)| Some((n.parse().ok()?, until.parse::<u64>().ok()? as f64)))
        .unwrap_or((0, 0.0))
}

fn save_attempts(failures: u32, until_ms: f64) {
    if let Some(storage) = crate::local::storage() {
        let _ = if failures == 0 {
            storage.remove_item(ATTEMPTS_KEY)
        } else {
            storage.set_item(ATTEMPTS_KEY, &format!("{failures},{}", until_ms as u64))
        };
    }
}

/// The unlock screen of an existing account.
#[component]
pub fn UnlockPage(reason: LockReason, join_link: bool) -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let passphrase = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let (saved_failures, saved_until) = load_attempts();
    let failures = RwSignal::new(saved_failures);
    let still_waiting = saved_until > js_sys::Date::now();
    let error = RwSignal::new(still_waiting.then_some(Key::UnlockWrong));
    let wait_until = RwSignal::new(saved_until);
    let now = RwSignal::new(js_sys::Date::now());
    let input_ref = NodeRef::<leptos::html::Input>::new();
    let ticking = set_interval_with_handle(
        move || now.set(js_sys::Date::now()),
        Duration::from_millis(250),
    )
    .ok();
    on_cleanup(move || {
        if let Some(handle) = ticking {
            handle.clear();
        }
    });
    let remaining_s = move || ((wait_until.get() - now.get()) / 1000.0).ceil().max(0.0) as u32;
    let waiting = move || remaining_s() > 0;
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() || waiting() {
            return;
        }
        let attempt = passphrase.get_untracked();
        if attempt.is_empty() {
            error.set(Some(Key::UnlockEmpty));
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = session.unlock(&attempt).await;
            busy.set(false);
            match result {
                Ok(()) => save_attempts(0, 0.0),
                Err(failure) => {
                    passphrase.set(String::new());
                    if failure == UnlockFailure::WrongPassphrase {
                        failures.update(|n| *n += 1);
                        let delay = retry_delay_s(failures.get_untracked());
                        let until = js_sys::Date::now() + f64::from(delay) * 1000.0;
                        wait_until.set(until);
                        save_attempts(failures.get_untracked(), until);
                        now.set(js_sys::Date::now());
                        error.set(Some(Key::UnlockWrong));
                    } else {
                        error.set(Some(Key::UnlockBroken));
                    }
                    if let Some(input) = input_ref.get_untracked() {
                        let _ = input.focus();
                    }
                }
            }
        });
    };
    let reason_text = move || match reason {
        LockReason::Opened => i18n.t(Key::UnlockIntro),
        LockReason::Manual => i18n.t(Key::UnlockLocked),
        LockReason::Inactive => i18n.t(Key::UnlockInactive),
    };
    view! {
        <section class="auth-card" aria-labelledby="unlock-title">
            <div class="lock-badge" aria-hidden="true">
                <svg viewBox="0 0 24 24" class="icon-large">
                    <path d="M7 10V7a5 5 0 0 1 10 0v3h1.5c.8 0 1.5.7 1.5 1.5v8c0 .8-.7 1.5-1.5 1.5h-13C4.7 21 4 20.3 4 19.5v-8c0-.8.7-1.5 1.5-1.5H7Zm2 0h6V7a3 3 0 0 0-6 0v3Z" />
                </svg>
            </div>
            <h1 id="unlock-title" tabindex="-1">{tr(Key::UnlockTitle)}</h1>
            <Show when=move || join_link>
                <p class="notice" role="status">{tr(Key::UnlockJoinLink)}</p>
            </Show>
            <p class="lead" data-testid="unlock-reason">{reason_text}</p>
            <form class="form" on:submit=on_submit>
                <div class="field">
                    <label for="passphrase">{tr(Key::UnlockLabel)}</label>
                    <input
                        id="passphrase"
                        data-testid="passphrase"
                        data-autofocus
                        type="password"
                        autocomplete="current-password"
                        spellcheck="false"
                        node_ref=input_ref
                        aria-invalid=move || error.get().is_some().then_some("true")
                        aria-describedby="unlock-error"
                        prop:value=move || passphrase.get()
                        on:input=move |ev| passphrase.set(event_target_value(&ev))
                    />
                </div>
                <div id="unlock-error" class="error-slot" role="alert" data-testid="unlock-error">
                    {move || error.get().map(|key| view! { <p class="error-text">{i18n.t(key)}</p> })}
                    {move || waiting().then(|| {
                        view! {
                            <p class="hint" data-testid="unlock-wait">
                                {fill(i18n.t(Key::UnlockRetryIn), &[("seconds", &remaining_s().to_string())])}
                            </p>
                        }
                    })}
                </div>
                <div class="actions">
                    <button
                        type="submit"
                        class="button primary"
                        data-testid="unlock"
                        disabled=move || busy.get() || waiting()
                    >
                        {move || if busy.get() { i18n.t(Key::UnlockBusy) } else { i18n.t(Key::UnlockButton) }}
                    </button>
                </div>
            </form>
            <details class="forgotten">
                <summary>{tr(Key::UnlockForgotten)}</summary>
                <p>{tr(Key::UnlockForgottenBody)}</p>
                <EraseAccount />
            </details>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::retry_delay_s;

    #[test]
    fn the_delay_grows_and_is_capped() {
        let delays: Vec<u32> = (0..8).map(retry_delay_s).collect();
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(retry_delay_s(100), 30);
    }
}
