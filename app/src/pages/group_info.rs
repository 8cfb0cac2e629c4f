use leptos::prelude::*;

use super::new_group::MAX_GROUP_NAME_BYTES;
use crate::components::{Avatar, BackLink, MemberPicker};
use crate::engine::{Command, DirectoryEntry, GroupCommand, MemberTrust, MemberView};
use crate::i18n::{Key, fill, tr, use_i18n};
use crate::route::Route;
use crate::session::use_session;

/// A group's page: name, members with their rights and key check, and what
/// an admin (or any member, for leaving) can change.
#[component]
pub fn GroupInfo(conversation: String) -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let chat = session.chat;
    session.command(Command::ShowGroup {
        conversation: conversation.clone(),
    });
    let id = StoredValue::new(conversation);
    let groups = session.groups;
    let group = Memo::new(move |_| groups.view_of(&id.get_value()));
    let change = move |change: GroupCommand| {
        chat.failure.set(None);
        session.command(Command::ChangeGroup {
            conversation: id.get_value(),
            change,
        });
    };
    let admin = move || group.with(|g| g.as_ref().is_some_and(|g| g.admin));
    let member = move || group.with(|g| g.as_ref().is_some_and(|g| g.member));
    let title = move || {
        group
            .with(|g| g.as_ref().map(|g| g.name.clone()))
            .unwrap_or_else(|| chat.name_of(&id.get_value()))
    };

    let new_name = RwSignal::new(String::new());
    let rename = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = new_name.get_untracked().trim().to_owned();
        if !name.is_empty() && name.len() <= MAX_GROUP_NAME_BYTES && name != title() {
            change(GroupCommand::Rename(name));
            new_name.set(String::new());
        }
    };
    let adding = RwSignal::new(Vec::<DirectoryEntry>::new());
    let members_now = Signal::derive(move || {
        group.with(|g| {
            g.as_ref()
                .map(|g| g.members.iter().map(|m| m.handle.clone()).collect())
                .unwrap_or_default()
        })
    });
    let add = move |_| {
        let handles: Vec<String> =
            adding.with_untracked(|a| a.iter().map(|a| a.handle.clone()).collect());
        if !handles.is_empty() {
            change(GroupCommand::Add(handles));
            adding.set(Vec::new());
        }
    };
    let leaving = RwSignal::new(false);
    let back = move || Route::Chat(id.get_value()).href();

    view! {
        <div class="pane-page" data-testid="group-info">
            <header class="pane-head">
                <BackLink href=Signal::derive(back) label=Key::GroupBackToChat />
                <h2 tabindex="-1" data-testid="group-title">{title}</h2>
            </header>
            <div class="pane-body settings">
                {move || chat.failure.get().map(|message| view! {
                    <p class="error-text" role="alert" data-testid="group-error">
                        {super::status::localized(message, i18n.locale())}
                    </p>
                })}
                <Show when=move || !member() && group.with(Option::is_some)>
                    <p class="notice" data-testid="group-left">{tr(Key::GroupNotMember)}</p>
                </Show>
                <Show when=admin>
                    <section class="settings-section" aria-labelledby="group-rename">
                        <h3 id="group-rename">{tr(Key::GroupRenameTitle)}</h3>
                        <form class="inline-form" on:submit=rename>
                            <label for="group-new-name" class="visually-hidden">{tr(Key::GroupNameLabel)}</label>
                            <input
                                id="group-new-name"
                                data-testid="group-new-name"
                                type="text"
                                autocomplete="off"
                                placeholder=title
                                prop:value=move || new_name.get()
                                on:input=move |ev| new_name.set(event_target_value(&ev))
                            />
                            <button type="submit" class="button" data-testid="group-rename">
                                {tr(Key::GroupRename)}
                            </button>
                        </form>
                    </section>
                </Show>
                <section class="settings-section" aria-labelledby="group-members">
                    <h3 id="group-members">
                        {move || {
                            let count = group.with(|g| g.as_ref().map_or(0, |g| g.members.len()));
                            fill(i18n.t(Key::GroupMembersHeading), &[("count", &count.to_string())])
                        }}
                    </h3>
                    <ul class="member-list" data-testid="group-members">
                        <For
                            each=move || group.with(|g| g.as_ref().map(|g| g.members.clone()).unwrap_or_default())
                            key=|m| (m.handle.clone(), m.admin, m.trust as u8)
                            children=move |m| view! { <MemberRow member=m can_manage=Signal::derive(admin) change /> }
                        />
                    </ul>
                </section>
                <Show when=admin>
                    <section class="settings-section" aria-labelledby="group-add">
                        <h3 id="group-add">{tr(Key::GroupAddTitle)}</h3>
                        <MemberPicker chosen=adding exclude=members_now />
                        <button
                            type="button"
                            class="button primary"
                            data-testid="group-add"
                            disabled=move || adding.with(Vec::is_empty)
                            on:click=add
                        >
                            {tr(Key::GroupAddSelection)}
                        </button>
                    </section>
                </Show>
                <Show when=member>
                    <section class="settings-section" aria-labelledby="group-leave">
                        <h3 id="group-leave">{tr(Key::GroupLeave)}</h3>
                        <Show
                            when=move || leaving.get()
                            fallback=move || view! {
                                <button
                                    type="button"
                                    class="button danger-outline"
                                    data-testid="group-leave"
                                    on:click=move |_| leaving.set(true)
                                >
                                    {tr(Key::GroupLeave)}
                                </button>
                            }
                        >
                            <div class="confirm-panel" role="group" aria-labelledby="group-leave-confirm">
                                <p id="group-leave-confirm">{tr(Key::GroupLeaveConfirm)}</p>
                                <div class="actions">
                                    <button type="button" class="button" on:click=move |_| leaving.set(false)>
                                        {tr(Key::CommonCancel)}
                                    </button>
                                    <button
                                        type="button"
                                        class="button danger"
                                        data-testid="group-leave-confirm"
                                        on:click=move |_| {
                                            leaving.set(false);
                                            change(GroupCommand::Leave);
                                        }
                                    >
                                        {tr(Key::GroupLeave)}
                                    </button>
                                </div>
                            </div>
                        </Show>
                    </section>
                </Show>
            </div>
        </div>
    }
}

/// One member: who, rights, key check, and the admin's actions.
#[component]
fn MemberRow(
    member: MemberView,
    can_manage: Signal<bool>,
    change: impl Fn(GroupCommand) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let confirming = RwSignal::new(false);
    let me = member.trust == MemberTrust::Me;
    let handle = StoredValue::new(member.handle.clone());
    let name = StoredValue::new(if member.name.is_empty() {
        member.handle.clone()
    } else {
        member.name.clone()
    });
    let admin = member.admin;
    let trust = member.trust;
    view! {
        <li class="member" data-testid="group-member" data-handle=member.handle.clone()>
            <Avatar name=name.get_value() handle=member.handle.clone() />
            <span class="member-text">
                <span class="member-name">
                    {name.get_value()}
                    {me.then(|| view! { <span class="tag">{tr(Key::GroupYou)}</span> })}
                    {admin.then(|| view! { <span class="tag" data-testid="admin-tag">{tr(Key::GroupAdmin)}</span> })}
                </span>
                <span class="member-handle">{member.handle.clone()}</span>
                {(trust == MemberTrust::Changed).then(|| view! {
                    <span class="trust warning" data-testid="trust-changed">{tr(Key::GroupTrustChanged)}</span>
                })}
                {(trust == MemberTrust::Trusted).then(|| view! {
                    <span class="trust">{tr(Key::GroupTrustKnown)}</span>
                })}
            </span>
            <Show when=move || can_manage.get() && !me>
                <span class="member-actions">
                    <Show
                        when=move || confirming.get()
                        fallback=move || view! {
                            {(!admin).then(|| view! {
                                <button
                                    type="button"
                                    class="button small"
                                    data-testid="make-admin"
                                    on:click=move |_| change(GroupCommand::MakeAdmin(handle.get_value()))
                                >
                                    {tr(Key::GroupMakeAdmin)}
                                </button>
                            })}
                            <button
                                type="button"
                                class="button small danger-outline"
                                data-testid="remove-member"
                                on:click=move |_| confirming.set(true)
                            >
                                {tr(Key::GroupRemove)}
                            </button>
                        }
                    >
                        <span class="confirm-inline" role="group">
                            <span>{move || fill(i18n.t(Key::GroupRemoveConfirm), &[("name", &name.get_value())])}</span>
                            <button type="button" class="button small" on:click=move |_| confirming.set(false)>
                                {tr(Key::CommonCancel)}
                            </button>
                            <button
                                type="button"
                                class="button small danger"
                                data-testid="remove-member-confirm"
                                on:click=move |_| {
                                    confirming.set(false);
                                    change(GroupCommand::Remove(handle.get_value()));
                                }
                            >
                                {tr(Key::GroupRemove)}
                            </button>
                        </span>
                    </Show>
                </span>
            </Show>
        </li>
    }
}
