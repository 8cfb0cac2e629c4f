use estafette_client::ConnectionState;
use leptos::prelude::*;

use crate::components::{Avatar, BackLink, MessageText, Ticks};
use crate::engine::{Command, Delivery, MessageView};
use crate::i18n::{Key, fill, tr, use_i18n};
use crate::relay::RelayLink;
use crate::route::Route;
use crate::session::use_session;

/// The longest message accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;
/// A typing notice is renewed this often while typing.
const TYPING_RENEW_MS: f64 = 3_000.0;
/// Without input for this long, typing stops.
const TYPING_IDLE_MS: u64 = 4_000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Row {
    Day { key: String, at_ms: u64 },
    Message(MessageView),
}

impl Row {
    fn key(&self) -> String {
        match self {
            Row::Day { key, .. } => key.clone(),
            Row::Message(m) => format!("m{}{}", m.id, m.state.as_str()),
        }
    }
}

fn rows(messages: &[MessageView]) -> Vec<Row> {
    let mut rows = Vec::with_capacity(messages.len() + 4);
    let mut last_day = None;
    for message in messages {
        let day = crate::format::day(message.sent_at_ms);
        if last_day != Some(day) {
            rows.push(Row::Day {
                key: format!("d{}-{}-{}", day.0, day.1, day.2),
                at_ms: message.sent_at_ms,
            });
            last_day = Some(day);
        }
        rows.push(Row::Message(message.clone()));
    }
    rows
}

fn document_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .map(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
        .unwrap_or(true)
}

/// One conversation: history grouped by day, composer, banners.
#[component]
pub fn ChatPage(handle: String) -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let chat = session.chat;
    let relay = expect_context::<RelayLink>();
    let own_handle = session
        .profile
        .with_untracked(|p| p.as_ref().map(|p| p.handle.clone()).unwrap_or_default());
    session.open_conversation(&handle);
    let is_group = handle.starts_with("g:");
    if is_group {
        // Its members' names and our rights.
        session.command(Command::ShowGroup {
            conversation: handle.clone(),
        });
    }
    let groups = session.groups;
    let handle = StoredValue::new(handle);
    let own = StoredValue::new(own_handle);
    // In a group we left (or were removed from): read only.
    let left_group = Memo::new(move |_| {
        is_group
            && chat.conversations.with(|list| {
                list.iter()
                    .find(|c| c.handle == handle.get_value())
                    .and_then(|c| c.group)
                    .is_some_and(|g| !g.member)
            })
    });
    let member_count = move || {
        chat.conversations.with(|list| {
            list.iter()
                .find(|c| c.handle == handle.get_value())
                .and_then(|c| c.group)
                .map_or(0, |g| g.members)
        })
    };

    let name = Memo::new(move |_| chat.name_of(&handle.get_value()));
    let typing = move || chat.is_typing(&handle.get_value());
    let blocked =
        Memo::new(move |_| chat.identity_pending(&handle.get_value()) || left_group.get());
    let offline = move || {
        matches!(
            relay.state.get(),
            ConnectionState::Offline | ConnectionState::Reconnecting { .. }
        )
    };
    let draft = RwSignal::new(String::new());
    let too_long = move || draft.with(|d| d.chars().count() > MAX_MESSAGE_CHARS);
    let scroller = NodeRef::<leptos::html::Div>::new();

    // Read receipts: on open, when a message arrives while the page is
    // visible, and when the page becomes visible again.
    let mark_read = move || {
        if document_visible() {
            session.command(Command::MarkRead {
                conversation: handle.get_value(),
            });
        }
    };
    Effect::new(move |_| {
        chat.messages
            .with(|m| m.iter().filter(|m| m.state == Delivery::Received).count());
        mark_read();
    });
    let visibility = window_event_listener_untyped("visibilitychange", move |_| mark_read());
    on_cleanup(move || visibility.remove());

    // Keep the newest message in view when it arrives (unless the user has
    // scrolled up to read older ones), and always after our own.
    let rows = Memo::new(move |_| chat.messages.with(|m| rows(m)));
    Effect::new(move |previous: Option<usize>| {
        let count = rows.with(Vec::len);
        let last_mine = chat.messages.with(|m| {
            m.last()
                .is_some_and(|m| own.with_value(|own| m.sender == *own))
        });
        if let Some(element) = scroller.get_untracked() {
            let near_bottom =
                element.scroll_height() - element.scroll_top() - element.client_height() < 160;
            if previous.is_none_or(|p| p == 0) || near_bottom || last_mine {
                request_animation_frame(move || {
                    element.set_scroll_top(element.scroll_height());
                });
            }
        }
        count
    });

    // Typing notices, renewed while typing and stopped when idle or sent.
    let typing_sent_at = StoredValue::new(0.0f64);
    let last_input_at = StoredValue::new(0.0f64);
    let stop_typing = move || {
        if typing_sent_at.get_value() > 0.0 {
            typing_sent_at.set_value(0.0);
            session.command(Command::Typing {
                conversation: handle.get_value(),
                typing: false,
            });
        }
    };
    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let now = js_sys::Date::now();
        last_input_at.set_value(now);
        if value.trim().is_empty() {
            stop_typing();
        } else if now - typing_sent_at.get_value() > TYPING_RENEW_MS {
            typing_sent_at.set_value(now);
            session.command(Command::Typing {
                conversation: handle.get_value(),
                typing: true,
            });
            set_timeout(
                move || {
                    if js_sys::Date::now() - last_input_at.get_value() >= TYPING_IDLE_MS as f64 {
                        stop_typing();
                    }
                },
                std::time::Duration::from_millis(TYPING_IDLE_MS + 100),
            );
        }
        draft.set(value);
    };
    on_cleanup(stop_typing);

    let send = move || {
        let text = draft.get_untracked();
        let text = text.trim();
        if text.is_empty() || blocked.get_untracked() || too_long() {
            return;
        }
        session.command(Command::SendText {
            conversation: handle.get_value(),
            text: text.to_owned(),
        });
        draft.set(String::new());
        stop_typing();
    };
    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send();
    };
    let accept_identity = move |_| {
        session.command(Command::AcceptIdentity {
            handle: handle.get_value(),
        });
        chat.identity_acknowledged(&handle.get_value());
    };

    view! {
        <div class="chat" data-testid="chat">
            <header class="chat-head">
                <BackLink href="#/" label=Key::ChatBack />
                {move || view! { <Avatar name=name.get() handle=handle.get_value() /> }}
                <div class="chat-title">
                    <h2 tabindex="-1" data-testid="chat-title">{move || name.get()}</h2>
                    <p class="chat-sub">
                        <Show
                            when=typing
                            fallback=move || {
                                if is_group {
                                    view! {
                                        <a href=Route::GroupInfo(handle.get_value()).href() data-testid="group-info-link">
                                            {move || fill(i18n.t(Key::GroupMembersCount), &[("count", &member_count().to_string())])}
                                            <span class="visually-hidden">{tr(Key::GroupInfoLink)}</span>
                                        </a>
                                    }
                                    .into_any()
                                } else {
                                    view! { <span>{handle.get_value()}</span> }.into_any()
                                }
                            }
                        >
                            <span class="typing" data-testid="typing">
                                {move || fill(i18n.t(Key::ChatTyping), &[("name", &name.get())])}
                                <span class="typing-dots" aria-hidden="true"><span></span><span></span><span></span></span>
                            </span>
                        </Show>
                    </p>
                </div>
            </header>
            <Show when=offline>
                <div class="banner offline" role="status" data-testid="offline-banner">
                    {tr(Key::ChatOffline)}
                </div>
            </Show>
            <Show when=move || left_group.get()>
                <div class="banner" role="status" data-testid="group-left-banner">
                    {tr(Key::GroupNotMember)}
                </div>
            </Show>
            <Show when=move || blocked.get() && !left_group.get()>
                <div class="banner warning" role="alert" data-testid="identity-warning">
                    <h3>{move || fill(i18n.t(Key::IdentityTitle), &[("name", &name.get())])}</h3>
                    <p>{tr(Key::IdentityBody)}</p>
                    <button type="button" class="button" data-testid="identity-accept" on:click=accept_identity>
                        {tr(Key::IdentityAccept)}
                    </button>
                </div>
            </Show>
            <div class="messages-scroll" node_ref=scroller>
                <Show when=move || { chat.unreadable.get() > 0 }>
                    <p class="notice">
                        {move || fill(i18n.t(Key::ChatUnreadable), &[("count", &chat.unreadable.get().to_string())])}
                    </p>
                </Show>
                <Show when=move || rows.with(Vec::is_empty)>
                    <p class="chat-empty">{move || fill(i18n.t(Key::ChatEmpty), &[("name", &name.get())])}</p>
                </Show>
                <ol class="messages" aria-label=tr(Key::ChatMessagesLabel) data-testid="messages">
                    <For
                        each=move || rows.get()
                        key=Row::key
                        children=move |row| match row {
                            Row::Day { at_ms, .. } => view! {
                                <li class="day-separator">
                                    <h3>{move || crate::format::day_label(at_ms, i18n.locale())}</h3>
                                </li>
                            }
                            .into_any(),
                            Row::Message(message) => {
                                let mine = own.with_value(|own| message.sender == *own);
                                match message.line.clone() {
                                    Some(line) => view! {
                                        <li class="group-line" data-testid="group-line">
                                            {move || own.with_value(|own| crate::group_line::line_text(&line, own, i18n))}
                                        </li>
                                    }
                                    .into_any(),
                                    None => {
                                        let author = (is_group && !mine).then(|| {
                                            let sender = message.sender.clone();
                                            let conversation = handle.get_value();
                                            Signal::derive(move || {
                                                groups
                                                    .member_name(&conversation, &sender)
                                                    .unwrap_or_else(|| chat.name_of(&sender))
                                            })
                                        });
                                        view! { <MessageRow message mine author /> }.into_any()
                                    }
                                }
                            }
                        }
                    />
                </ol>
            </div>
            <form class="composer" on:submit=on_submit>
                <label for="composer" class="visually-hidden">{tr(Key::ChatComposerLabel)}</label>
                <textarea
                    id="composer"
                    data-testid="composer"
                    data-autofocus
                    rows="1"
                    aria-describedby="composer-hint"
                    placeholder=move || {
                        let key = if is_group { Key::ChatComposerPlaceholderGroup } else { Key::ChatComposerPlaceholder };
                        fill(i18n.t(key), &[("name", &name.get())])
                    }
                    disabled=move || blocked.get()
                    prop:value=move || draft.get()
                    on:input=on_input
                    on:keydown=on_keydown
                ></textarea>
                <button
                    type="submit"
                    class="send-button"
                    data-testid="send"
                    disabled=move || blocked.get() || too_long() || draft.with(|d| d.trim().is_empty())
                    aria-label=tr(Key::ChatSend)
                >
                    <svg viewBox="0 0 24 24" class="icon" aria-hidden="true">
                        <path d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z" />
                    </svg>
                </button>
            </form>
            <p class="composer-hint" id="composer-hint">
                {move || {
                    if too_long() {
                        fill(i18n.t(Key::ChatTooLong), &[("max", &MAX_MESSAGE_CHARS.to_string())])
                    } else {
                        i18n.t(Key::ChatComposerHint).to_owned()
                    }
                }}
            </p>
        </div>
    }
}

#[component]
fn MessageRow(message: MessageView, mine: bool, author: Option<Signal<String>>) -> impl IntoView {
    let i18n = use_i18n();
    let chat = use_session().chat;
    let at = message.sent_at_ms;
    let sender = message.sender.clone();
    let state = message.state;
    let spoken_name = move || match author {
        Some(name) => name.get(),
        None => chat.name_of(&sender),
    };
    view! {
        <li class="msg" class:mine=mine class:theirs=!mine data-testid="message" data-state=state.as_str() data-mine=mine.to_string()>
            <div class="bubble">
                <span class="visually-hidden">
                    {move || {
                        if mine {
                            i18n.t(Key::ChatYouSaid).to_owned()
                        } else {
                            fill(i18n.t(Key::ChatTheySaid), &[("name", &spoken_name())])
                        }
                    }}
                </span>
                {author.map(|name| view! { <span class="msg-author" aria-hidden="true">{move || name.get()}</span> })}
                <MessageText text=message.text />
                <span class="msg-meta">
                    <time datetime=crate::format::iso(at) title=move || crate::format::full(at, i18n.locale())>
                        {move || crate::format::time(at, i18n.locale())}
                    </time>
                    {mine.then(|| view! { <Ticks state /> })}
                </span>
            </div>
        </li>
    }
}
