//! The account of this browser: whether there is one, join, unlock, lock,
//! erase, and the engine while unlocked. One IndexedDB database, "estafette",
//! holds it (kiosk: one account at a time). The worker holds the account
//! (`crate::backend`); the session asks it and keeps what the screens show.

use std::rc::Rc;

use estafette_client::bridge::{DATABASE, Joined, Post, Reply, Request, Unlocked};
use estafette_client::{JoinError, Profile, UserMessage};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::backend::Backend;
use crate::chat::{Chat, HISTORY_LIMIT};
use crate::engine::{Command, Event};
use crate::relay::RelayLink;

/// Where this browser stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// No account here: landing page or join.
    NoAccount,
    /// An account exists and is locked.
    Locked {
        /// Why it locked, to tell the user.
        reason: LockReason,
    },
    /// Unlocked: the engine runs.
    Unlocked,
    /// The account cannot continue here (revoked, device unknown).
    Stopped(UserMessage),
    /// The worker failed to start or died: nothing works until a reload.
    Unavailable,
}

/// Why the account is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockReason {
    /// Page opened.
    Opened,
    /// The lock button.
    Manual,
    /// Inactivity.
    Inactive,
}

/// Why unlocking failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlockFailure {
    /// The passphrase is not the right one.
    WrongPassphrase,
    /// Anything else (storage).
    Broken,
}

/// Device and account preferences, sealed in the account's store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    /// Minutes of inactivity before locking.
    pub lock_minutes: u32,
    /// The name shown in this app (the administrator's when `None`).
    pub display_name: Option<String>,
}

/// The lock delays offered in the settings, in minutes.
pub const LOCK_DELAYS: [u32; 7] = [1, 2, 5, 10, 15, 30, 60];

impl Default for Preferences {
    fn default() -> Self {
        Self {
            lock_minutes: 10,
            display_name: None,
        }
    }
}

impl Preferences {
    /// `lock_minutes` on the first line, the display name on the second.
    pub fn encode(&self) -> String {
        format!(
            "{}\n{}",
            self.lock_minutes,
            self.display_name.as_deref().unwrap_or_default()
        )
    }

    /// Reads [`Preferences::encode`]; anything odd falls back to defaults.
    pub fn decode(text: &str) -> Self {
        let mut lines = text.splitn(2, '\n');
        let lock_minutes = lines
            .next()
            .and_then(|l| l.parse().ok())
            .filter(|m| LOCK_DELAYS.contains(m))
            .unwrap_or(10);
        let display_name = lines.next().map(clean_name).filter(|name| !name.is_empty());
        Self {
            lock_minutes,
            display_name,
        }
    }
}

/// A display name: one line, trimmed, at most 80 characters.
pub fn clean_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(80)
        .collect()
}

/// Told when the worker cannot start or answer (a browser without workers,
/// a failed download).
pub const WORKER_GONE: UserMessage = UserMessage {
    fr: "Estafette n’a pas pu démarrer dans ce navigateur. Rechargez la page ; si cela persiste, contactez votre administrateur.",
    en: "Estafette could not start in this browser. Reload the page; if this goes on, contact your administrator.",
};

/// The session, provided as context by the `App`.
#[derive(Clone, Copy)]
pub struct Session {
    /// Where this browser stands.
    pub phase: RwSignal<Phase>,
    /// The unlocked account's profile.
    pub profile: RwSignal<Option<Profile>>,
    /// Just joined: the display-name step comes before the list.
    pub onboarding: RwSignal<bool>,
    /// The unlocked account's preferences.
    pub preferences: RwSignal<Preferences>,
    /// The account was just erased (the landing page says so).
    pub erased: RwSignal<bool>,
    /// Conversations and messages while unlocked.
    pub chat: Chat,
    /// Groups while unlocked.
    pub groups: crate::groups::Groups,
    backend: StoredValue<Option<Rc<Backend>>, LocalStorage>,
    /// The worker's number of the running engine. Its events carry it; those
    /// of an engine stopped earlier (a lock, a quick re-unlock) are dropped.
    current: StoredValue<Option<u32>>,
    /// Counts the page's stops (lock, erase): an unlock or a join answered
    /// after one (an erase pressed while unlocking) does not start a session.
    stops: StoredValue<u64>,
    relay: RelayLink,
}

impl Session {
    /// Starts looking for the account of this browser.
    pub fn new(relay: RelayLink) -> Self {
        // The first screen is chosen at once from the hint (no IndexedDB
        // wait on the way to the first paint), then confirmed.
        let hinted = account_hint();
        let session = Self {
            phase: RwSignal::new(if hinted {
                Phase::Locked {
                    reason: LockReason::Opened,
                }
            } else {
                Phase::NoAccount
            }),
            profile: RwSignal::new(None),
            onboarding: RwSignal::new(false),
            preferences: RwSignal::new(Preferences::default()),
            erased: RwSignal::new(false),
            chat: Chat::new(),
            groups: crate::groups::Groups::new(),
            backend: StoredValue::new_local(None),
            current: StoredValue::new(None),
            stops: StoredValue::new(0),
            relay,
        };
        spawn_local(async move { session.confirm_account(hinted).await });
        session
    }

    /// The name to show for this account.
    pub fn display_name(&self) -> String {
        let chosen = self.preferences.with(|p| p.display_name.clone());
        chosen
            .or_else(|| self.profile.with(|p| p.as_ref().map(|p| p.name.clone())))
            .unwrap_or_default()
    }

    /// Checks the first screen's guess: a database without the hint (an
    /// account made before the hint existed) shows the unlock screen, and a
    /// hint without a complete account (a join cut short) the landing page.
    async fn confirm_account(&self, hinted: bool) {
        let opened = Phase::Locked {
            reason: LockReason::Opened,
        };
        if !hinted {
            // Opening creates the database: look first, so a visitor without
            // an account leaves nothing behind.
            if !crate::wipe::database_exists(DATABASE).await {
                return;
            }
            if self.phase.get_untracked() == Phase::NoAccount {
                self.phase.set(opened.clone());
            }
        }
        match self.call(Request::Probe).await {
            Some(Reply::Found(true)) => set_account_hint(true),
            Some(Reply::Found(false)) => {
                set_account_hint(false);
                if self.phase.get_untracked() == opened {
                    self.phase.set(Phase::NoAccount);
                }
            }
            _ => {}
        }
    }

    /// Starts the worker if it is not running (it also connects, so the
    /// link's state shows before any account is unlocked).
    pub fn start_worker(&self) {
        if self.backend.with_value(Option::is_some) {
            return;
        }
        let session = *self;
        let backend = Backend::start(
            move |post| session.on_post(post),
            move || session.worker_gone(),
        );
        match backend {
            Some(backend) => self.backend.set_value(Some(Rc::new(backend))),
            None => self.worker_gone(),
        }
    }

    fn call(&self, request: Request) -> impl std::future::Future<Output = Option<Reply>> + use<> {
        self.start_worker();
        let call = self
            .backend
            .with_value(|backend| backend.as_ref().map(|b| b.call(request)));
        async move {
            match call {
                Some(call) => call.await,
                None => None,
            }
        }
    }

    /// Without the worker nothing works (no join, no unlock, no engine):
    /// a dead end that says so, with the erase button.
    fn worker_gone(&self) {
        self.stop_engine();
        self.relay
            .state
            .set(estafette_client::ConnectionState::Offline);
        self.phase.set(Phase::Unavailable);
    }

    /// Whether a stop came since `stops` was read: then a session answered
    /// now must not start, and the worker is told to lock it.
    fn superseded(&self, stops: u64) -> bool {
        let superseded = self.stops.get_value() != stops;
        if superseded {
            self.tell(Request::Lock);
        }
        superseded
    }

    fn on_post(&self, post: Post) {
        match post {
            Post::Link(state) if self.current.get_value().is_none() => self.relay.state.set(state),
            Post::Event { session, event } if self.current.get_value() == Some(session) => {
                if let Some(event) = crate::engine::event_view(event) {
                    self.on_event(event);
                }
            }
            _ => {}
        }
    }

    fn on_event(&self, event: Event) {
        let own_handle = self
            .profile
            .with_untracked(|p| p.as_ref().map(|p| p.handle.clone()))
            .unwrap_or_default();
        match event {
            Event::Stopped(message) => self.stop(message),
            Event::Connection(state) => self.relay.state.set(state),
            Event::GroupUpdated(view) => self.groups.apply(view),
            Event::Failed(message) if self.groups.creating.get_untracked() => {
                self.groups.creating.set(false);
                self.chat.apply(Event::Failed(message), &own_handle);
            }
            event => self.chat.apply(event, &own_handle),
        }
    }

    /// Creates the account with an invitation token.
    pub async fn join(&self, token: &str, passphrase: &str) -> Result<(), UserMessage> {
        let request = Request::Join {
            token: token.to_owned(),
            passphrase: passphrase.to_owned(),
        };
        let stops = self.stops.get_value();
        match self.call(request).await {
            Some(Reply::Joined(Joined::Joined { .. })) if self.superseded(stops) => Ok(()),
            Some(Reply::Joined(Joined::Joined { profile, session })) => {
                self.preferences.set(Preferences::default());
                self.onboarding.set(true);
                self.started(profile, session);
                Ok(())
            }
            Some(Reply::Joined(Joined::AlreadyJoined(message))) => {
                self.phase.set(Phase::Locked {
                    reason: LockReason::Opened,
                });
                Err(message)
            }
            Some(Reply::Joined(Joined::Failed(message))) => Err(message),
            _ => Err(WORKER_GONE),
        }
    }

    /// Unlocks with the passphrase.
    pub async fn unlock(&self, passphrase: &str) -> Result<(), UnlockFailure> {
        let request = Request::Unlock {
            passphrase: passphrase.to_owned(),
        };
        let stops = self.stops.get_value();
        match self.call(request).await {
            Some(Reply::Unlocked(Unlocked::Unlocked { .. })) if self.superseded(stops) => Ok(()),
            Some(Reply::Unlocked(Unlocked::Unlocked {
                profile,
                preferences,
                session,
            })) => {
                let preferences = preferences
                    .map(|bytes| Preferences::decode(&String::from_utf8_lossy(&bytes)))
                    .unwrap_or_default();
                self.preferences.set(preferences);
                self.started(profile, session);
                Ok(())
            }
            Some(Reply::Unlocked(Unlocked::WrongPassphrase)) => Err(UnlockFailure::WrongPassphrase),
            _ => Err(UnlockFailure::Broken),
        }
    }

    fn started(&self, profile: Profile, session: u32) {
        set_account_hint(true);
        self.profile.set(Some(profile));
        self.current.set_value(Some(session));
        self.relay
            .state
            .set(estafette_client::ConnectionState::Connecting);
        self.phase.set(Phase::Unlocked);
        let chat = self.chat;
        let call = self.call(Request::Conversations);
        let this = *self;
        spawn_local(async move {
            if let Some(Reply::Conversations(list)) = call.await
                && this.current.get_value() == Some(session)
            {
                chat.conversations_loaded(
                    list.into_iter()
                        .map(crate::engine::conversation_view)
                        .collect(),
                );
            }
        });
    }

    /// Sends a command to the engine (ignored while locked).
    pub fn command(&self, command: Command) {
        if self.current.get_value().is_some() {
            self.tell(Request::Command(command));
        }
    }

    /// Loads a conversation's history into the chat view.
    pub fn open_conversation(&self, handle: &str) {
        let Some(session) = self.current.get_value() else {
            return;
        };
        if !self.chat.begin_open(handle) {
            return;
        }
        let call = self.call(Request::Messages {
            conversation: handle.to_owned(),
            limit: HISTORY_LIMIT,
        });
        let (this, handle) = (*self, handle.to_owned());
        spawn_local(async move {
            if let Some(Reply::Messages {
                messages,
                unreadable,
            }) = call.await
                && this.current.get_value() == Some(session)
            {
                let history = messages
                    .into_iter()
                    .map(crate::engine::message_view)
                    .collect();
                this.chat
                    .history_loaded(&handle, history, unreadable as usize);
            }
        });
    }

    /// Forgets every plaintext the page holds; the worker is told apart.
    fn stop_engine(&self) {
        self.stops.update_value(|n| *n += 1);
        self.current.set_value(None);
        self.chat.clear();
        self.groups.clear();
        self.profile.set(None);
        self.onboarding.set(false);
        self.preferences.set(Preferences::default());
    }

    /// Locks: the worker drops the engine and the storage key.
    pub fn lock(&self, reason: LockReason) {
        if self.phase.get_untracked() != Phase::Unlocked {
            return;
        }
        self.stop_engine();
        self.tell(Request::Lock);
        self.phase.set(Phase::Locked { reason });
    }

    fn stop(&self, message: UserMessage) {
        self.stop_engine();
        self.tell(Request::Lock);
        self.phase.set(Phase::Stopped(message));
    }

    fn tell(&self, request: Request) {
        self.backend.with_value(|backend| {
            if let Some(backend) = backend {
                backend.send(request);
            }
        });
    }

    /// Saves the preferences (sealed) and applies them.
    pub fn save_preferences(&self, preferences: Preferences) {
        self.preferences.set(preferences.clone());
        let call = self.call(Request::SavePreferences(
            preferences.encode().into_bytes().into(),
        ));
        let chat = self.chat;
        spawn_local(async move {
            if call.await != Some(Reply::Saved(true)) {
                chat.failure.set(Some(JoinError::Protocol.user_message()));
            }
        });
    }

    /// Signs out and erases everything this app stored in the browser.
    pub async fn erase(&self) {
        self.stop_engine();
        // The worker deletes the account's database first (its connection
        // would hold the deletion back), then the page clears the rest.
        let _ = self.call(Request::Erase).await;
        // Whatever arrived meanwhile is dropped too.
        self.stop_engine();
        crate::wipe::wipe_browser_storage().await;
        self.phase.set(Phase::NoAccount);
    }
}

/// localStorage key saying that this browser holds an account: not a
/// secret (the database's name says as much), and erasing clears it.
const ACCOUNT_HINT: &str = "estafette.account";

#[cfg(target_arch = "wasm32")]
fn account_hint() -> bool {
    crate::local::storage()
        .and_then(|s| s.get_item(ACCOUNT_HINT).ok().flatten())
        .is_some()
}

#[cfg(target_arch = "wasm32")]
fn set_account_hint(present: bool) {
    if let Some(storage) = crate::local::storage() {
        let _ = if present {
            storage.set_item(ACCOUNT_HINT, "1")
        } else {
            storage.remove_item(ACCOUNT_HINT)
        };
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn account_hint() -> bool {
    let _ = ACCOUNT_HINT;
    false
}

#[cfg(not(target_arch = "wasm32"))]
fn set_account_hint(_present: bool) {}

/// The `Session` of the running app.
pub fn use_session() -> Session {
    expect_context::<Session>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_round_trip_and_survive_garbage() {
        let preferences = Preferences {
            lock_minutes: 5,
            display_name: Some("Marie Curie".into()),
        };
        assert_eq!(Preferences::decode(&preferences.encode()), preferences);
        assert_eq!(Preferences::decode(""), Preferences::default());
        assert_eq!(Preferences::decode("7\n"), Preferences::default());
        assert_eq!(
            Preferences::decode("abc\nA\u{0}B\nC")
                .display_name
                .as_deref(),
            Some("A B C")
        );
    }

    #[test]
    fn names_are_one_trimmed_line() {
        assert_eq!(clean_name("  Jean \n  Moulin\t"), "Jean Moulin");
        assert_eq!(clean_name(&"x".repeat(200)).len(), 80);
    }
}
