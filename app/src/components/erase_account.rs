use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{Key, tr, use_i18n};
use crate::route::{Route, use_router};
use crate::session::use_session;

/// "Sign out and erase", with a confirmation step.
#[component]
pub fn EraseAccount() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let router = use_router();
    let confirming = RwSignal::new(false);
    let erasing = RwSignal::new(false);
    let confirm_ref = NodeRef::<leptos::html::Button>::new();
    let erase = move |_| {
        erasing.set(true);
        spawn_local(async move {
            session.erase().await;
            session.erased.set(true);
            router.replace(&Route::Home);
        });
    };
    Effect::new(move |_| {
        if confirming.get() {
            request_animation_frame(move || {
                if let Some(button) = confirm_ref.get_untracked() {
                    let _ = button.focus();
                }
            });
        }
    });
    view! {
        <div class="erase">
            <Show
                when=move || confirming.get()
                fallback=move || {
                    view! {
                        <button
                            type="button"
                            class="button danger-outline"
                            data-testid="erase"
                            on:click=move |_| confirming.set(true)
                        >
                            {tr(Key::EraseButton)}
                        </button>
                    }
                }
            >
                <div class="confirm-panel" role="group" aria-labelledby="erase-confirm-title">
                    <h3 id="erase-confirm-title">{tr(Key::EraseConfirmTitle)}</h3>
                    <p>{tr(Key::EraseConfirmBody)}</p>
                    <div class="actions">
                        <button
                            type="button"
                            class="button"
                            disabled=move || erasing.get()
                            on:click=move |_| confirming.set(false)
                        >
                            {tr(Key::CommonCancel)}
                        </button>
                        <button
                            type="button"
                            class="button danger"
                            data-testid="erase-confirm"
                            node_ref=confirm_ref
                            disabled=move || erasing.get()
                            on:click=erase
                        >
                            {move || {
                                if erasing.get() {
                                    i18n.t(Key::EraseInProgress)
                                } else {
                                    i18n.t(Key::EraseConfirmButton)
                                }
                            }}
                        </button>
                    </div>
                </div>
            </Show>
        </div>
    }
}
