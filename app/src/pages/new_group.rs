use leptos::prelude::*;

use crate::components::{BackLink, MemberPicker};
use crate::engine::{Command, DirectoryEntry};
use crate::i18n::{Key, tr, use_i18n};
use crate::route::{Route, use_router};
use crate::session::use_session;

/// Longest group name, in UTF-8 bytes (the engine refuses longer).
pub const MAX_GROUP_NAME_BYTES: usize = 128;

/// Creates a group: a name and members found in the directory.
#[component]
pub fn NewGroup() -> impl IntoView {
    let i18n = use_i18n();
    let router = use_router();
    let session = use_session();
    let chat = session.chat;
    let groups = session.groups;
    let name = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<DirectoryEntry>::new());
    let name_ok = move || {
        name.with(|n| {
            let n = n.trim();
            !n.is_empty() && n.len() <= MAX_GROUP_NAME_BYTES
        })
    };
    let ready = move || name_ok() && chosen.with(|c| !c.is_empty()) && !groups.creating.get();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !ready() {
            return;
        }
        chat.failure.set(None);
        groups.created.set(None);
        groups.creating.set(true);
        session.command(Command::CreateGroup {
            name: name.get_untracked().trim().to_owned(),
            members: chosen.with_untracked(|c| c.iter().map(|a| a.handle.clone()).collect()),
        });
    };
    // The engine answers with the group: open it.
    Effect::new(move |_| {
        if let Some(conversation) = groups.created.get() {
            groups.created.set(None);
            router.navigate(&Route::Chat(conversation));
        }
    });
    Effect::new(move |_| {
        if chat.failure.with(Option::is_some) {
            groups.creating.set(false);
        }
    });

    view! {
        <div class="pane-page">
            <header class="pane-head">
                <BackLink href="#/" label=Key::ChatBack />
                <h2 tabindex="-1">{tr(Key::GroupNewTitle)}</h2>
            </header>
            <div class="pane-body">
                <form class="form" on:submit=create data-testid="new-group-form">
                    <div class="field">
                        <label for="group-name">{tr(Key::GroupNameLabel)}</label>
                        <input
                            id="group-name"
                            data-testid="group-name"
                            data-autofocus
                            type="text"
                            autocomplete="off"
                            required
                            aria-describedby="group-name-hint"
                            aria-invalid=move || (!name.with(String::is_empty) && !name_ok()).then_some("true")
                            prop:value=move || name.get()
                            on:input=move |ev| name.set(event_target_value(&ev))
                        />
                        <p class="hint" id="group-name-hint">{tr(Key::GroupNameHint)}</p>
                    </div>
                    <MemberPicker chosen />
                    {move || chat.failure.get().map(|message| view! {
                        <p class="error-text" role="alert" data-testid="new-group-error">
                            {super::status::localized(message, i18n.locale())}
                        </p>
                    })}
                    <button
                        type="submit"
                        class="button primary"
                        data-testid="create-group"
                        disabled=move || !ready()
                        aria-busy=move || groups.creating.get().then_some("true")
                    >
                        {move || {
                            if groups.creating.get() {
                                i18n.t(Key::GroupCreating)
                            } else {
                                i18n.t(Key::GroupCreate)
                            }
                        }}
                    </button>
                </form>
            </div>
        </div>
    }
}
