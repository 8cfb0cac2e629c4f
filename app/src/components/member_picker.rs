use leptos::prelude::*;

use crate::components::{Avatar, DirectorySearch, shown_name};
use crate::engine::DirectoryEntry;
use crate::i18n::{Key, fill, tr, use_i18n};
use crate::session::use_session;

/// Picks accounts from the directory: a search field, results to add, and
/// the chosen ones (removable). `exclude`: handles that cannot be picked
/// (already members); our own handle never can.
#[component]
pub fn MemberPicker(
    chosen: RwSignal<Vec<DirectoryEntry>>,
    #[prop(optional)] exclude: Option<Signal<Vec<String>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let search = DirectorySearch::new();
    let own = StoredValue::new(
        session
            .profile
            .with_untracked(|p| p.as_ref().map(|p| p.handle.clone()).unwrap_or_default()),
    );
    let pickable = move |handle: &str| {
        handle != own.get_value()
            && !exclude.is_some_and(|e| e.with(|list| list.iter().any(|h| h == handle)))
    };
    let results = move || {
        search.answered().map(|accounts| {
            accounts
                .into_iter()
                .filter(|a| pickable(&a.handle))
                .collect::<Vec<_>>()
        })
    };
    let toggle = move |account: DirectoryEntry| {
        chosen.update(|list| {
            if let Some(at) = list.iter().position(|a| a.handle == account.handle) {
                list.remove(at);
            } else {
                list.push(account);
            }
        });
    };
    let is_chosen = move |handle: &str| chosen.with(|list| list.iter().any(|a| a.handle == handle));

    view! {
        <div class="member-picker">
            <div class="field">
                <label for="member-search">{tr(Key::GroupMembersLabel)}</label>
                <input
                    id="member-search"
                    data-testid="member-search"
                    type="search"
                    autocomplete="off"
                    spellcheck="false"
                    aria-describedby="member-search-hint"
                    prop:value=move || search.query.get()
                    on:input=move |ev| search.on_input(ev)
                />
                <p class="hint" id="member-search-hint">{tr(Key::NewSearchHint)}</p>
            </div>
            <div aria-live="polite" class="search-status">
                {move || search.status(i18n, results().map(|list| list.len()))}
            </div>
            <ul class="results" data-testid="member-results">
                {move || {
                    results()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|account| {
                            let handle = StoredValue::new(account.handle.clone());
                            let checked = move || handle.with_value(|h| is_chosen(h));
                            let name = shown_name(&account);
                            let picked = account.clone();
                            view! {
                                <li>
                                    <button
                                        type="button"
                                        class="result"
                                        data-testid="member-result"
                                        aria-pressed=move || if checked() { "true" } else { "false" }
                                        on:click=move |_| toggle(picked.clone())
                                    >
                                        <Avatar name=name.clone() handle=account.handle.clone() />
                                        <span class="result-text">
                                            <span class="result-name">{name.clone()}</span>
                                            <span class="result-handle">{account.handle.clone()}</span>
                                        </span>
                                        <span class="result-mark" aria-hidden="true">
                                            {move || if checked() { "✓" } else { "+" }}
                                        </span>
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <h3 class="picker-heading">
                {move || fill(i18n.t(Key::GroupSelected), &[("count", &chosen.with(Vec::len).to_string())])}
            </h3>
            <Show
                when=move || chosen.with(|c| !c.is_empty())
                fallback=move || view! { <p class="hint">{tr(Key::GroupNoneSelected)}</p> }
            >
                <ul class="chips" data-testid="chosen-members">
                    {move || {
                        chosen
                            .get()
                            .into_iter()
                            .map(|account| {
                                let name = shown_name(&account);
                                let label = fill(i18n.t(Key::GroupUnselect), &[("name", &name)]);
                                let picked = account.clone();
                                view! {
                                    <li class="chip" data-testid="chosen-member">
                                        <span>{name}</span>
                                        <button
                                            type="button"
                                            class="chip-remove"
                                            aria-label=label
                                            on:click=move |_| toggle(picked.clone())
                                        >
                                            "×"
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </Show>
        </div>
    }
}
