//! The worker's loop: one call at a time, in the order the page sent them.

use std::rc::Rc;

use estafette_client::bridge::{self, Call, DATABASE, Joined, Post, Reply, Request, Unlocked};
use estafette_client::engine::Engine;
use estafette_client::store::{IndexedDbStore, StoreError, Table, Vault, database_exists};
use estafette_client::transport::BrowserTransport;
use estafette_client::{Identity, JoinError, RelayConnection, UnlockError};
use estafette_crypto::Argon2Params;
use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, unbounded};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Record key of the app's preferences in the sealed account table.
const PREFERENCES: &[u8] = b"app-preferences";

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(post: &Post) {
    let bytes = bridge::encode(post);
    let _ = scope().post_message(&js_sys::Uint8Array::from(bytes.as_slice()));
}

/// Listens to the page, then tells it so.
pub fn start() {
    let (calls, receiver) = unbounded::<Call>();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        // Only the page posts here; anything that is not a call is dropped.
        if let Some(bytes) = data.dyn_ref::<js_sys::Uint8Array>()
            && let Ok(call) = bridge::decode::<Call>(&bytes.to_vec())
        {
            let _ = calls.unbounded_send(call);
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker lives as long as the page.
    on_message.forget();
    wasm_bindgen_futures::spawn_local(serve(receiver));
    post(&Post::Ready);
}

async fn serve(mut calls: UnboundedReceiver<Call>) {
    let mut state = State::default();
    state.start_anonymous();
    while let Some(Call { id, request }) = calls.next().await {
        let reply = state.handle(request).await;
        if let Some(reply) = reply
            && id != 0
        {
            post(&Post::Reply { id, reply });
        }
    }
}

#[derive(Default)]
struct State {
    vault: Option<Rc<Vault<IndexedDbStore>>>,
    engine: Option<Engine>,
    /// Counts the engines started; their events carry it.
    session: u32,
    /// The link to the relay while no engine runs (the page shows its state).
    anonymous: Option<RelayConnection>,
}

impl State {
    async fn handle(&mut self, request: Request) -> Option<Reply> {
        Some(match request {
            Request::Probe => self.probe().await,
            Request::Join { token, passphrase } => {
                Reply::Joined(self.join(&token, &passphrase).await)
            }
            Request::Unlock { passphrase } => Reply::Unlocked(self.unlock(&passphrase).await),
            Request::Lock => {
                self.stop_engine();
                if let Some(vault) = &self.vault {
                    vault.lock();
                }
                Reply::Done
            }
            Request::Erase => {
                self.stop_engine();
                if let Some(vault) = self.vault.take() {
                    let _ = vault.erase().await;
                }
                Reply::Done
            }
            Request::Command(command) => {
                if let Some(engine) = &self.engine {
                    engine.command(command);
                }
                return None;
            }
            Request::SavePreferences(bytes) => Reply::Saved(match self.unlocked() {
                Some(vault) => vault.put(Table::Account, PREFERENCES, &bytes).await.is_ok(),
                None => false,
            }),
            Request::Conversations => match self.unlocked() {
                Some(vault) => match estafette_client::conversation::conversations(&vault).await {
                    Ok((list, _unreadable)) => Reply::Conversations(list),
                    Err(_) => Reply::Unavailable,
                },
                None => Reply::Unavailable,
            },
            Request::Messages {
                conversation,
                limit,
            } => match self.unlocked() {
                Some(vault) => {
                    match estafette_client::conversation::messages(&vault, &conversation, limit)
                        .await
                    {
                        Ok((messages, unreadable)) => Reply::Messages {
                            messages,
                            unreadable: u32::try_from(unreadable).unwrap_or(u32::MAX),
                        },
                        Err(_) => Reply::Unavailable,
                    }
                }
                None => Reply::Unavailable,
            },
        })
    }

    /// Whether an account is set up here. Opening creates the database, so
    /// a browser without one is answered without opening; a database that
    /// cannot be opened is `Unavailable`, not "no account".
    async fn probe(&mut self) -> Reply {
        if self.vault.is_none() && !database_exists(DATABASE).await {
            return Reply::Found(false);
        }
        let Ok(vault) = self.vault().await else {
            return Reply::Unavailable;
        };
        match vault.is_set_up().await {
            Ok(set_up) => Reply::Found(set_up),
            Err(_) => Reply::Unavailable,
        }
    }

    async fn vault(&mut self) -> Result<Rc<Vault<IndexedDbStore>>, StoreError> {
        if let Some(vault) = &self.vault {
            return Ok(vault.clone());
        }
        let vault = Rc::new(Vault::new(IndexedDbStore::open(DATABASE).await?));
        self.vault = Some(vault.clone());
        Ok(vault)
    }

    /// The vault while an engine runs.
    fn unlocked(&self) -> Option<Rc<Vault<IndexedDbStore>>> {
        self.engine.as_ref().and(self.vault.clone())
    }

    async fn join(&mut self, token: &str, passphrase: &str) -> Joined {
        let Some(relay_url) = estafette_client::relay_url_for_page() else {
            return Joined::Failed(JoinError::Protocol.user_message());
        };
        let vault = match self.vault().await {
            Ok(vault) => vault,
            Err(error) => return Joined::Failed(JoinError::Store(error).user_message()),
        };
        let joined = estafette_client::join(
            &vault,
            &BrowserTransport,
            &relay_url,
            token,
            passphrase,
            &Argon2Params::default(),
        )
        .await;
        match joined {
            Ok(identity) => {
                let profile = identity.profile.clone();
                let session = self.start_engine(vault, identity);
                Joined::Joined { profile, session }
            }
            Err(JoinError::AlreadyJoined) => {
                Joined::AlreadyJoined(JoinError::AlreadyJoined.user_message())
            }
            Err(error) => {
                // join erased the database: start afresh next time.
                self.vault = None;
                Joined::Failed(error.user_message())
            }
        }
    }

    async fn unlock(&mut self, passphrase: &str) -> Unlocked {
        let Ok(vault) = self.vault().await else {
            return Unlocked::Broken;
        };
        match estafette_client::unlock(&vault, passphrase).await {
            Ok(identity) => {
                let preferences = vault
                    .get(Table::Account, PREFERENCES)
                    .await
                    .ok()
                    .flatten()
                    .map(|bytes| bytes.to_vec().into());
                let profile = identity.profile.clone();
                let session = self.start_engine(vault, identity);
                Unlocked::Unlocked {
                    profile,
                    preferences,
                    session,
                }
            }
            Err(UnlockError::Store(StoreError::WrongPassphrase)) => Unlocked::WrongPassphrase,
            Err(_) => {
                vault.lock();
                Unlocked::Broken
            }
        }
    }

    fn start_engine(&mut self, vault: Rc<Vault<IndexedDbStore>>, identity: Identity) -> u32 {
        self.stop_engine();
        // The engine has its own connection: one socket at a time.
        self.anonymous = None;
        self.session = self.session.wrapping_add(1);
        let session = self.session;
        self.engine = Some(Engine::start(vault, identity, move |event| {
            post(&Post::Event { session, event });
        }));
        session
    }

    fn stop_engine(&mut self) {
        if self.engine.take().is_some() {
            self.start_anonymous();
        }
    }

    fn start_anonymous(&mut self) {
        if self.anonymous.is_none()
            && let Some(url) = estafette_client::relay_url_for_page()
        {
            self.anonymous = Some(RelayConnection::start(url, |state| {
                post(&Post::Link(state));
            }));
        }
    }
}
