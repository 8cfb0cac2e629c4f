//! The account of this browser: whether there is one, join, unlock, lock,
//! erase, and the engine while unlocked. One IndexedDB database, "estafette",
//! holds it (kiosk: one account at a time).

use std::rc::Rc;

use estafette_client::store::{StoreError, Table, Vault};
use estafette_client::{JoinError, Profile, UnlockError, UserMessage};
use estafette_crypto::Argon2Params;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::chat::Chat;
use crate::engine::{Command, EngineHandle, Event};
use crate::relay::RelayLink;

/// The browser's store of records.
#[cfg(target_arch = "wasm32")]
pub type Store = estafette_client::store::IndexedDbStore;
/// Natively (unit tests), memory.
#[cfg(not(target_arch = "wasm32"))]
pub type Store = estafette_client::store::MemoryStore;

/// Name of the account's IndexedDB database.
pub const DATABASE: &str = "estafette";

/// Where this browser stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Looking for an account.
    Loading,
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

/// Record key of the preferences in the (sealed) account table.
const PREFERENCES: &[u8] = b"app-preferences";

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
    vault: StoredValue<Option<Rc<Vault<Store>>>, LocalStorage>,
    engine: StoredValue<Option<EngineHandle>, LocalStorage>,
    /// Which engine is current: a dropped engine finishes asynchronously and
    /// its last events (a `Replaced` refusal after a quick re-unlock, say)
    /// must not reach the new session.
    generation: StoredValue<u64>,
    relay: RelayLink,
}

impl Session {
    /// Starts looking for the account of this browser.
    pub fn new(relay: RelayLink) -> Self {
        let session = Self {
            phase: RwSignal::new(Phase::Loading),
            profile: RwSignal::new(None),
            onboarding: RwSignal::new(false),
            preferences: RwSignal::new(Preferences::default()),
            erased: RwSignal::new(false),
            chat: Chat::new(),
            groups: crate::groups::Groups::new(),
            vault: StoredValue::new_local(None),
            engine: StoredValue::new_local(None),
            generation: StoredValue::new(0),
            relay,
        };
        spawn_local(async move {
            let phase = session.find_account().await;
            session.phase.set(phase);
        });
        session
    }

    /// The name to show for this account.
    pub fn display_name(&self) -> String {
        let chosen = self.preferences.with(|p| p.display_name.clone());
        chosen
            .or_else(|| self.profile.with(|p| p.as_ref().map(|p| p.name.clone())))
            .unwrap_or_default()
    }

    async fn find_account(&self) -> Phase {
        // Opening creates the database: look first, so a visitor without an
        // account leaves nothing behind.
        if !crate::wipe::database_exists(DATABASE).await {
            return Phase::NoAccount;
        }
        match open_vault().await {
            Ok(vault) => {
                let set_up = vault.is_set_up().await.unwrap_or(false);
                self.vault.set_value(Some(vault));
                if set_up {
                    Phase::Locked {
                        reason: LockReason::Opened,
                    }
                } else {
                    Phase::NoAccount
                }
            }
            Err(_) => Phase::NoAccount,
        }
    }

    async fn vault(&self) -> Result<Rc<Vault<Store>>, StoreError> {
        if let Some(vault) = self.vault.get_value() {
            return Ok(vault);
        }
        let vault = open_vault().await?;
        self.vault.set_value(Some(vault.clone()));
        Ok(vault)
    }

    /// Creates the account with an invitation token.
    pub async fn join(&self, token: &str, passphrase: &str) -> Result<(), UserMessage> {
        let relay_url = relay_url().ok_or(JoinError::Protocol.user_message())?;
        let vault = self
            .vault()
            .await
            .map_err(|e| JoinError::Store(e).user_message())?;
        let transport = transport();
        let joined = estafette_client::join(
            &vault,
            &transport,
            &relay_url,
            token,
            passphrase,
            &Argon2Params::default(),
        )
        .await;
        match joined {
            Ok(identity) => {
                self.preferences.set(Preferences::default());
                self.onboarding.set(true);
                self.start(vault, identity);
                Ok(())
            }
            Err(JoinError::AlreadyJoined) => {
                self.phase.set(Phase::Locked {
                    reason: LockReason::Opened,
                });
                Err(JoinError::AlreadyJoined.user_message())
            }
            Err(error) => {
                // The engine erased the database; start afresh next time.
                self.vault.set_value(None);
                Err(error.user_message())
            }
        }
    }

    /// Unlocks with the passphrase.
    pub async fn unlock(&self, passphrase: &str) -> Result<(), UnlockFailure> {
        let vault = self.vault().await.map_err(|_| UnlockFailure::Broken)?;
        match estafette_client::unlock(&vault, passphrase).await {
            Ok(identity) => {
                let preferences = match vault.get(Table::Account, PREFERENCES).await {
                    Ok(Some(bytes)) => Preferences::decode(&String::from_utf8_lossy(&bytes)),
                    _ => Preferences::default(),
                };
                self.preferences.set(preferences);
                self.start(vault, identity);
                Ok(())
            }
            Err(UnlockError::Store(StoreError::WrongPassphrase)) => {
                Err(UnlockFailure::WrongPassphrase)
            }
            Err(_) => {
                vault.lock();
                Err(UnlockFailure::Broken)
            }
        }
    }

    fn start(&self, vault: Rc<Vault<Store>>, identity: estafette_client::Identity) {
        self.profile.set(Some(identity.profile.clone()));
        let chat = self.chat;
        let session = *self;
        let own_handle = identity.profile.handle.clone();
        self.generation.update_value(|g| *g += 1);
        let generation = self.generation.get_value();
        let current = move || session.generation.try_get_value() == Some(generation);
        let engine = EngineHandle::start(vault.clone(), identity, move |event| {
            if !current() {
                return;
            }
            match event {
                // Not from inside the engine's own callback: the engine is dropped.
                Event::Stopped(message) => spawn_local(async move {
                    if current() {
                        session.stop(message);
                    }
                }),
                Event::Connection(state) if crate::engine::ENGINE_OWNS_CONNECTION => {
                    session.relay.state.set(state);
                }
                Event::GroupUpdated(view) => session.groups.apply(view),
                Event::Failed(message) if session.groups.creating.get_untracked() => {
                    session.groups.creating.set(false);
                    chat.apply(Event::Failed(message), &own_handle);
                }
                event => chat.apply(event, &own_handle),
            }
        });
        if crate::engine::ENGINE_OWNS_CONNECTION {
            self.relay.stop_anonymous();
            self.relay
                .state
                .set(estafette_client::ConnectionState::Connecting);
        }
        self.engine.set_value(Some(engine));
        self.phase.set(Phase::Unlocked);
        chat.load_conversations(vault);
    }

    /// Sends a command to the engine (ignored while locked).
    pub fn command(&self, command: Command) {
        self.engine.with_value(|engine| {
            if let Some(engine) = engine {
                engine.command(command);
            }
        });
    }

    /// Loads a conversation's history into the chat view.
    pub fn open_conversation(&self, handle: &str) {
        if let Some(vault) = self.vault.get_value() {
            self.chat.open_conversation(vault, handle.to_owned());
        }
    }

    /// Stops the engine and forgets every secret and plaintext in memory.
    fn stop_engine(&self) {
        self.generation.update_value(|g| *g += 1);
        self.engine.set_value(None);
        self.chat.clear();
        self.groups.clear();
        self.profile.set(None);
        self.onboarding.set(false);
        self.preferences.set(Preferences::default());
        if crate::engine::ENGINE_OWNS_CONNECTION {
            self.relay.start_anonymous();
        }
    }

    /// Locks: the storage key and the engine are dropped.
    pub fn lock(&self, reason: LockReason) {
        if self.phase.get_untracked() != Phase::Unlocked {
            return;
        }
        self.stop_engine();
        if let Some(vault) = self.vault.get_value() {
            vault.lock();
        }
        self.phase.set(Phase::Locked { reason });
    }

    fn stop(&self, message: UserMessage) {
        self.stop_engine();
        if let Some(vault) = self.vault.get_value() {
            vault.lock();
        }
        self.phase.set(Phase::Stopped(message));
    }

    /// Saves the preferences (sealed) and applies them.
    pub fn save_preferences(&self, preferences: Preferences) {
        self.preferences.set(preferences.clone());
        let Some(vault) = self.vault.get_value() else {
            return;
        };
        let chat = self.chat;
        spawn_local(async move {
            let saved = vault
                .put(Table::Account, PREFERENCES, preferences.encode().as_bytes())
                .await;
            if saved.is_err() {
                chat.failure.set(Some(JoinError::Protocol.user_message()));
            }
        });
    }

    /// Signs out and erases everything this app stored in the browser.
    pub async fn erase(&self) {
        self.stop_engine();
        if let Some(vault) = self.vault.get_value() {
            let _ = vault.erase().await;
        }
        self.vault.set_value(None);
        crate::wipe::wipe_browser_storage().await;
        self.phase.set(Phase::NoAccount);
    }
}

async fn open_vault() -> Result<Rc<Vault<Store>>, StoreError> {
    #[cfg(target_arch = "wasm32")]
    let store = Store::open(DATABASE).await?;
    #[cfg(not(target_arch = "wasm32"))]
    let store = Store::default();
    Ok(Rc::new(Vault::new(store)))
}

#[cfg(target_arch = "wasm32")]
fn relay_url() -> Option<String> {
    estafette_client::relay_url_for_page()
}
#[cfg(not(target_arch = "wasm32"))]
fn relay_url() -> Option<String> {
    None
}

#[cfg(target_arch = "wasm32")]
fn transport() -> estafette_client::transport::BrowserTransport {
    estafette_client::transport::BrowserTransport
}
#[cfg(not(target_arch = "wasm32"))]
fn transport() -> estafette_client::transport::NativeTransport {
    estafette_client::transport::NativeTransport
}

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
