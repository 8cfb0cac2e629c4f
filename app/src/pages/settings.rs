use leptos::prelude::*;

use crate::components::{BackLink, EraseAccount};
use crate::engine::Command;
use crate::i18n::{Key, Locale, fill, tr, use_i18n};
use crate::session::{LOCK_DELAYS, LockReason, Preferences, clean_name, use_session};

/// `0123456789abcdef…` as `0123 4567 89ab …`, easier to read aloud.
fn grouped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Display name, language, lock delay, devices, lock and erase.
#[component]
pub fn Settings() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let chat = session.chat;
    session.command(Command::RefreshDevices);
    let handle = session
        .profile
        .with_untracked(|p| p.as_ref().map(|p| p.handle.clone()).unwrap_or_default());
    let name = RwSignal::new(session.display_name());
    let saved = RwSignal::new(false);
    let save_name = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let given = session
            .profile
            .with_untracked(|p| p.as_ref().map(|p| p.name.clone()).unwrap_or_default());
        let chosen = clean_name(&name.get_untracked());
        name.set(if chosen.is_empty() {
            given.clone()
        } else {
            chosen.clone()
        });
        session.save_preferences(Preferences {
            display_name: (!chosen.is_empty() && chosen != given).then_some(chosen),
            ..session.preferences.get_untracked()
        });
        saved.set(true);
    };
    let set_delay = move |ev: leptos::ev::Event| {
        if let Ok(minutes) = event_target_value(&ev).parse::<u32>() {
            session.save_preferences(Preferences {
                lock_minutes: minutes,
                ..session.preferences.get_untracked()
            });
        }
    };
    let language = move |locale: Locale, label: &'static str| {
        view! {
            <label class="radio">
                <input
                    type="radio"
                    name="language"
                    value=locale.tag()
                    data-testid=format!("language-{}", locale.tag())
                    prop:checked=move || i18n.locale() == locale
                    on:change=move |_| i18n.set_locale(locale)
                />
                <span lang=locale.tag()>{label}</span>
            </label>
        }
    };
    view! {
        <div class="pane-page">
            <header class="pane-head">
                <BackLink href="#/" label=Key::ChatBack />
                <h2 tabindex="-1">{tr(Key::SettingsTitle)}</h2>
            </header>
            <div class="pane-body settings">
                <section class="settings-section" aria-labelledby="settings-profile">
                    <h3 id="settings-profile">{tr(Key::SettingsProfile)}</h3>
                    <form class="form inline-form" on:submit=save_name>
                        <div class="field">
                            <label for="settings-name">{tr(Key::SettingsNameLabel)}</label>
                            <input
                                id="settings-name"
                                data-testid="settings-name"
                                type="text"
                                autocomplete="name"
                                maxlength="80"
                                prop:value=move || name.get()
                                on:input=move |ev| {
                                    saved.set(false);
                                    name.set(event_target_value(&ev));
                                }
                            />
                            <p class="hint">{fill(i18n.t(Key::SettingsHandle), &[("handle", &handle)])}</p>
                        </div>
                        <button type="submit" class="button">{tr(Key::CommonSave)}</button>
                        <span class="saved" role="status">
                            {move || saved.get().then(|| i18n.t(Key::CommonSaved))}
                        </span>
                    </form>
                </section>
                <section class="settings-section" aria-labelledby="settings-language">
                    <h3 id="settings-language">{tr(Key::SettingsLanguage)}</h3>
                    <div class="radio-group" role="radiogroup" aria-labelledby="settings-language">
                        {language(Locale::Fr, "Français")}
                        {language(Locale::En, "English")}
                    </div>
                </section>
                <section class="settings-section" aria-labelledby="settings-lock">
                    <h3 id="settings-lock">{tr(Key::SettingsLock)}</h3>
                    <div class="field">
                        <label for="lock-delay">{tr(Key::SettingsLockDelay)}</label>
                        <select id="lock-delay" data-testid="lock-delay" on:change=set_delay>
                            {LOCK_DELAYS
                                .iter()
                                .map(|&minutes| {
                                    view! {
                                        <option
                                            value=minutes.to_string()
                                            selected=move || session.preferences.with(|p| p.lock_minutes == minutes)
                                        >
                                            {move || fill(i18n.t(Key::SettingsMinutes), &[("count", &minutes.to_string())])}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                        <p class="hint">{tr(Key::SettingsLockHint)}</p>
                    </div>
                    <button type="button" class="button" on:click=move |_| session.lock(LockReason::Manual)>
                        {tr(Key::LockNow)}
                    </button>
                </section>
                <section class="settings-section" aria-labelledby="settings-devices">
                    <h3 id="settings-devices">{tr(Key::SettingsDevices)}</h3>
                    <p class="hint">{tr(Key::SettingsDevicesHint)}</p>
                    <ul class="devices" data-testid="devices">
                        {move || match chat.devices.get() {
                            None => view! { <li class="hint">{i18n.t(Key::AppLoading)}</li> }.into_any(),
                            Some(devices) => devices
                                .into_iter()
                                .map(|device| view! {
                                    <li class="device">
                                        <svg viewBox="0 0 24 24" class="icon" aria-hidden="true">
                                            <path d="M4 5h16v10H4zM2 18h20" fill="none" stroke="currentColor" stroke-width="1.6" />
                                        </svg>
                                        <code>{grouped(&device.id_hex)}</code>
                                        {device.this_device.then(|| view! {
                                            <span class="tag">{tr(Key::SettingsThisDevice)}</span>
                                        })}
                                    </li>
                                })
                                .collect_view()
                                .into_any(),
                        }}
                    </ul>
                </section>
                <section class="settings-section danger-zone" aria-labelledby="settings-erase">
                    <h3 id="settings-erase">{tr(Key::SettingsErase)}</h3>
                    <p>{tr(Key::SettingsEraseBody)}</p>
                    <EraseAccount />
                </section>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn ids_are_grouped_by_four() {
        assert_eq!(grouped("0123456789"), "0123 4567 89");
    }
}
