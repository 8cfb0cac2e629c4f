use leptos::prelude::*;

use super::chat::ChatPage;
use super::group_info::GroupInfo;
use super::new_conversation::NewConversation;
use super::new_group::NewGroup;
use super::settings::Settings;
use crate::components::Avatar;
use crate::i18n::{Key, fill, tr, use_i18n};
use crate::route::{Route, use_router};
use crate::session::use_session;

/// The unlocked app: the conversation list beside the open pane (one of the
/// two at a time on narrow screens).
#[component]
pub fn Workspace() -> impl IntoView {
    let i18n = use_i18n();
    let router = use_router();
    let session = use_session();
    let view_kind = move || {
        if router.route() == Route::Home {
            "list"
        } else {
            "detail"
        }
    };
    let pane = Memo::new(move |_| router.route());
    view! {
        <div class="workspace" data-view=view_kind>
            <nav class="sidebar" aria-labelledby="conversations-title">
                <div class="sidebar-head">
                    <h1 id="conversations-title" tabindex="-1">{tr(Key::ConversationsTitle)}</h1>
                    <span class="sidebar-actions">
                        <a class="button primary small" href="#/new" data-testid="new-conversation">
                            <span aria-hidden="true">"+ "</span>
                            {tr(Key::ConversationsNew)}
                        </a>
                        <a class="button small" href="#/new-group" data-testid="new-group">
                            <span aria-hidden="true">"+ "</span>
                            {tr(Key::GroupNewButton)}
                        </a>
                    </span>
                </div>
                <p class="sidebar-user">
                    {move || fill(i18n.t(Key::ConversationsSignedInAs), &[("name", &session.display_name())])}
                </p>
                <ConversationList />
            </nav>
            {move || {
                // The new-conversation page shows its own errors.
                let elsewhere = !matches!(
                    router.route(),
                    Route::NewConversation | Route::NewGroup | Route::GroupInfo(_)
                );
                session.chat.failure.get().filter(|_| elsewhere).map(|message| {
                    view! {
                        <div class="toast" role="alert" data-testid="failure">
                            <p>{move || super::status::localized(message, i18n.locale())}</p>
                            <button
                                type="button"
                                class="button small"
                                on:click=move |_| session.chat.failure.set(None)
                            >
                                {tr(Key::CommonClose)}
                            </button>
                        </div>
                    }
                })
            }}
            <section class="pane">
                {move || match pane.get() {
                    Route::Chat(handle) => view! { <ChatPage handle /> }.into_any(),
                    Route::NewConversation => view! { <NewConversation /> }.into_any(),
                    Route::NewGroup => view! { <NewGroup /> }.into_any(),
                    Route::GroupInfo(conversation) => view! { <GroupInfo conversation /> }.into_any(),
                    Route::Settings => view! { <Settings /> }.into_any(),
                    Route::Home | Route::Join(_) => view! { <Placeholder /> }.into_any(),
                }}
            </section>
        </div>
    }
}

#[component]
fn Placeholder() -> impl IntoView {
    view! {
        <div class="placeholder">
            <svg viewBox="0 0 24 24" class="icon-large" aria-hidden="true">
                <path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2Z" fill="none" stroke="currentColor" stroke-width="1.5" />
            </svg>
            <p>{tr(Key::ConversationsPick)}</p>
        </div>
    }
}

#[component]
fn ConversationList() -> impl IntoView {
    let i18n = use_i18n();
    let router = use_router();
    let chat = use_session().chat;
    let current = move || match router.route() {
        Route::Chat(handle) => Some(handle),
        _ => None,
    };
    view! {
        <Show
            when=move || chat.conversations.with(|c| !c.is_empty())
            fallback=move || view! {
                <div class="empty" data-testid="conversations-empty">
                    <p>{tr(Key::ConversationsEmpty)}</p>
                    <a class="button" href="#/new">{tr(Key::ConversationsStartFirst)}</a>
                </div>
            }
        >
            <ul class="conversation-list" data-testid="conversation-list">
                <For
                    each=move || chat.conversations.get()
                    key=|c| (c.handle.clone(), c.last_at_ms, c.unread, c.name.clone(), c.last_text.len())
                    children=move |c| {
                        let href = Route::Chat(c.handle.clone()).href();
                        let handle = c.handle.clone();
                        let is_current = move || current().as_deref() == Some(handle.as_str());
                        let unread = c.unread;
                        let when = c.last_at_ms;
                        let preview = if c.last_text.is_empty() {
                            None
                        } else {
                            Some(c.last_text.chars().take(120).collect::<String>())
                        };
                        let members = c.group.map(|g| g.members);
                        let name = if c.name.is_empty() { c.handle.clone() } else { c.name.clone() };
                        view! {
                            <li>
                                <a
                                    class="conversation"
                                    class:unread={unread > 0}
                                    href=href
                                    data-testid="conversation"
                                    data-handle=c.handle.clone()
                                    aria-current=move || is_current().then_some("page")
                                >
                                    <Avatar name=name.clone() handle=c.handle.clone() />
                                    <span class="conversation-main">
                                        <span class="conversation-top">
                                            <span class="conversation-name">{name.clone()}</span>
                                            <span class="conversation-when">
                                                {move || crate::format::short_when(when, i18n.locale())}
                                            </span>
                                        </span>
                                        <span class="conversation-bottom">
                                            <span class="conversation-preview">
                                                {
                                                    let preview = preview.clone();
                                                    let handle = c.handle.clone();
                                                    move || match (preview.clone(), members) {
                                                        (Some(text), _) => text,
                                                        (None, Some(count)) => fill(i18n.t(Key::GroupMembersCount), &[("count", &count.to_string())]),
                                                        (None, None) => handle.clone(),
                                                    }
                                                }
                                            </span>
                                            {(unread > 0).then(|| view! {
                                                <span class="badge" data-testid="unread">
                                                    <span aria-hidden="true">{unread}</span>
                                                    <span class="visually-hidden">
                                                        {move || fill(i18n.t(Key::ConversationsUnread), &[("count", &unread.to_string())])}
                                                    </span>
                                                </span>
                                            })}
                                        </span>
                                    </span>
                                </a>
                            </li>
                        }
                    }
                />
            </ul>
        </Show>
    }
}
