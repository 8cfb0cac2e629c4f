//! The Estafette web app: Leptos, rendered in the browser.

mod auto_lock;
mod backend;
mod chat;
mod components;
mod engine;
#[cfg(target_arch = "wasm32")]
mod format;
mod group_line;
mod groups;
pub mod i18n;
mod local;
mod pages;
pub mod passphrase;
mod relay;
pub mod route;
mod session;
pub mod text;
#[cfg(target_arch = "wasm32")]
mod wipe;
#[cfg(not(target_arch = "wasm32"))]
mod wipe {
    //! Natively there is no browser storage.
    pub async fn database_exists(_name: &str) -> bool {
        false
    }
    pub async fn wipe_browser_storage() {}
}
#[cfg(not(target_arch = "wasm32"))]
mod format {
    //! Natively (unit tests) dates are not shown.
    use crate::i18n::Locale;
    pub fn time(_: u64, _: Locale) -> String {
        String::new()
    }
    pub fn day(ms: u64) -> (u32, u32, u32) {
        (0, 0, (ms / 86_400_000) as u32)
    }
    pub fn day_label(_: u64, _: Locale) -> String {
        String::new()
    }
    pub fn short_when(_: u64, _: Locale) -> String {
        String::new()
    }
    pub fn full(_: u64, _: Locale) -> String {
        String::new()
    }
    pub fn iso(_: u64) -> String {
        String::new()
    }
}

use leptos::prelude::*;

use components::{ConnectionIndicator, LanguageSwitch, LiveRegion};
use i18n::{I18n, Key, tr};
use pages::{Home, JoinPage, Onboarding, Stopped, Unavailable, UnlockPage, Workspace};
use relay::RelayLink;
use route::{Route, Router, use_router};
use session::{LockReason, Phase, Session, use_session};

/// The screen for the current phase and address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Screen {
    Home,
    Join(String),
    Unlock { reason: LockReason, join_link: bool },
    Onboarding,
    Workspace,
    Stopped(estafette_client::UserMessage),
    Unavailable,
}

/// The whole app: header, then the screen for where this browser stands.
#[component]
pub fn App() -> impl IntoView {
    provide_context(I18n::new());
    let relay = RelayLink::new();
    provide_context(relay);
    provide_context(Router::new());
    provide_context(Session::new(relay));
    let router = use_router();
    let session = use_session();
    auto_lock::install(session);

    let screen = Memo::new(move |_| {
        let route = router.route();
        match session.phase.get() {
            Phase::Stopped(message) => Screen::Stopped(message),
            Phase::Unavailable => Screen::Unavailable,
            Phase::NoAccount => match route {
                Route::Join(token) => Screen::Join(token),
                _ => Screen::Home,
            },
            Phase::Locked { reason } => Screen::Unlock {
                reason,
                join_link: matches!(route, Route::Join(_)),
            },
            Phase::Unlocked if session.onboarding.get() => Screen::Onboarding,
            Phase::Unlocked => Screen::Workspace,
        }
    });
    let unlocked = move || screen.get() == Screen::Workspace;

    // Move focus to the new screen's main control or heading, for keyboard
    // and screen-reader users.
    Effect::new(move |_| {
        screen.track();
        router.route();
        request_animation_frame(focus_screen);
    });
    // Unread messages in the tab's title, so they show from another tab.
    Effect::new(move |_| {
        let unread: u32 = session
            .chat
            .conversations
            .with(|list| list.iter().map(|c| c.unread).sum());
        let title = if unread > 0 && session.phase.get() == Phase::Unlocked {
            format!("({unread}) Estafette")
        } else {
            "Estafette".to_owned()
        };
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(&title);
        }
    });
    // The first screen is chosen without waiting (session.rs): it is usable
    // at the first frame, which the load benchmark (e2e) reads as a mark.
    request_animation_frame(move || {
        mark("estafette-interactive");
        // The worker (the engine, half of the code) loads once the first
        // screen is up, while the user reads or types; when the hint says
        // an account exists, the session has already started it, since the
        // unlock screen needs it.
        session.start_worker();
    });

    view! {
        <a class="skip-link" href="#main" on:click=move |ev| {
            ev.prevent_default();
            focus_screen();
        }>{tr(Key::AppSkipToContent)}</a>
        <header class="app-header">
            <a class="brand" href="#/" aria-label=tr(Key::AppHomeLink)>
                <img class="brand-mark" src="/icon.svg" alt="" width="32" height="32" />
                <span class="brand-name">{tr(Key::AppName)}</span>
            </a>
            <div class="header-tools">
                <ConnectionIndicator />
                <Show when=unlocked>
                    <a
                        class="icon-button"
                        href="#/settings"
                        data-testid="settings-link"
                        aria-current=move || (router.route() == Route::Settings).then_some("page")
                    >
                        <svg viewBox="0 0 24 24" aria-hidden="true" class="icon">
                            <path d="M12 15.5a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7Zm7.4-2.5.1-1-.1-1 2.1-1.6-2-3.5-2.5 1a7 7 0 0 0-1.7-1L15 3h-4l-.4 2.6a7 7 0 0 0-1.7 1l-2.5-1-2 3.5L6.5 11l-.1 1 .1 1-2.1 1.6 2 3.5 2.5-1c.5.4 1.1.7 1.7 1L11 21h4l.4-2.6c.6-.3 1.2-.6 1.7-1l2.5 1 2-3.5Z" />
                        </svg>
                        <span class="icon-button-text">{tr(Key::SettingsTitle)}</span>
                    </a>
                    <button
                        type="button"
                        class="icon-button"
                        data-testid="lock"
                        on:click=move |_| session.lock(LockReason::Manual)
                    >
                        <svg viewBox="0 0 24 24" aria-hidden="true" class="icon">
                            <path d="M7 10V7a5 5 0 0 1 10 0v3h1.5c.8 0 1.5.7 1.5 1.5v8c0 .8-.7 1.5-1.5 1.5h-13C4.7 21 4 20.3 4 19.5v-8c0-.8.7-1.5 1.5-1.5H7Zm2 0h6V7a3 3 0 0 0-6 0v3Z" />
                        </svg>
                        <span class="icon-button-text">{tr(Key::LockButton)}</span>
                    </button>
                </Show>
                <LanguageSwitch />
            </div>
        </header>
        <main id="main" tabindex="-1" class:main-workspace=unlocked>
            {move || match screen.get() {
                Screen::Home => view! { <Home /> }.into_any(),
                Screen::Join(token) => view! { <JoinPage token /> }.into_any(),
                Screen::Unlock { reason, join_link } => {
                    view! { <UnlockPage reason join_link /> }.into_any()
                }
                Screen::Onboarding => view! { <Onboarding /> }.into_any(),
                Screen::Workspace => view! { <Workspace /> }.into_any(),
                Screen::Stopped(message) => view! { <Stopped message /> }.into_any(),
                Screen::Unavailable => view! { <Unavailable /> }.into_any(),
            }}
        </main>
        <LiveRegion />
        <Show when=move || !unlocked()>
            <footer class="app-footer">{tr(Key::FooterHosted)}</footer>
        </Show>
    }
}

/// A Performance API mark, read by the load figures (`e2e/tests/figures.spec.ts`):
/// `estafette-start` (the wasm runs), `estafette-mounted` (first render done),
/// `estafette-interactive` (the first usable screen is painted).
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// Moves focus once the component calling this is in the DOM (for steps
/// inside one screen; screen and address changes do it themselves).
pub(crate) fn focus_after_render() {
    request_animation_frame(focus_screen);
}

/// Focuses the element marked `data-autofocus`, else the screen's heading.
fn focus_screen() {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let target = document
        .query_selector("main [data-autofocus]")
        .ok()
        .flatten()
        .or_else(|| {
            document
                .query_selector("main .pane h2, main h1")
                .ok()
                .flatten()
        });
    if let Some(element) = target.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = element.focus();
    }
}
