use leptos::prelude::*;

use crate::components::{Avatar, BackLink, DirectorySearch, shown_name};
use crate::engine::Command;
use crate::i18n::{Key, tr, use_i18n};
use crate::route::{Route, use_router};
use crate::session::use_session;

/// Starts a conversation: search the directory by name or handle.
#[component]
pub fn NewConversation() -> impl IntoView {
    let i18n = use_i18n();
    let router = use_router();
    let session = use_session();
    let chat = session.chat;
    let search = DirectorySearch::new();
    let own = StoredValue::new(
        session
            .profile
            .with_untracked(|p| p.as_ref().map(|p| p.handle.clone()).unwrap_or_default()),
    );
    // The accounts found, without our own.
    let shown = move || {
        search.answered().map(|accounts| {
            own.with_value(|own| {
                accounts
                    .into_iter()
                    .filter(|a| a.handle != *own)
                    .collect::<Vec<_>>()
            })
        })
    };
    let start = move |handle: String| {
        chat.failure.set(None);
        if chat
            .conversations
            .with_untracked(|l| l.iter().any(|c| c.handle == handle))
        {
            router.navigate(&Route::Chat(handle));
            return;
        }
        chat.starting.set(Some(handle.clone()));
        session.command(Command::StartConversation { handle });
    };
    // The engine answers with the new conversation: open it.
    Effect::new(move |_| {
        let Some(handle) = chat.starting.get() else {
            return;
        };
        if chat
            .conversations
            .with(|l| l.iter().any(|c| c.handle == handle))
        {
            chat.starting.set(None);
            router.navigate(&Route::Chat(handle));
        }
    });

    view! {
        <div class="pane-page">
            <header class="pane-head">
                <BackLink href="#/" label=Key::ChatBack />
                <h2 tabindex="-1">{tr(Key::NewTitle)}</h2>
            </header>
            <div class="pane-body">
                <form class="form" role="search" on:submit=move |ev| ev.prevent_default()>
                    <div class="field">
                        <label for="directory-search">{tr(Key::NewSearchLabel)}</label>
                        <input
                            id="directory-search"
                            data-testid="directory-search"
                            data-autofocus
                            type="search"
                            autocomplete="off"
                            spellcheck="false"
                            aria-describedby="directory-hint"
                            prop:value=move || search.query.get()
                            on:input=move |ev| search.on_input(ev)
                        />
                        <p class="hint" id="directory-hint">{tr(Key::NewSearchHint)}</p>
                    </div>
                </form>
                <div aria-live="polite" class="search-status">
                    {move || search.status(i18n, shown().map(|list| list.len()))}
                </div>
                {move || chat.failure.get().map(|message| view! {
                    <p class="error-text" role="alert" data-testid="new-error">
                        {super::status::localized(message, i18n.locale())}
                    </p>
                })}
                <ul class="results" data-testid="directory-results">
                    {move || {
                        shown()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|account| {
                                let handle = account.handle.clone();
                                let busy_handle = account.handle.clone();
                                let busy = move || chat.starting.get().as_deref() == Some(busy_handle.as_str());
                                let name = shown_name(&account);
                                view! {
                                    <li>
                                        <button
                                            type="button"
                                            class="result"
                                            data-testid="directory-result"
                                            aria-busy=move || busy().then_some("true")
                                            on:click=move |_| start(handle.clone())
                                        >
                                            <Avatar name=name.clone() handle=account.handle.clone() />
                                            <span class="result-text">
                                                <span class="result-name">{name.clone()}</span>
                                                <span class="result-handle">{account.handle.clone()}</span>
                                            </span>
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </div>
        </div>
    }
}
