//! The relay in memory: a [`Hub`] over a store in a temporary directory,
//! and clients whose sessions run over channels instead of sockets (axum
//! `examples/testing-websockets`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::Message;
use estafette_relay::{Entropy, Hub, OsEntropy, SessionConfig, SqliteStore, StoreLimits};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};

use crate::client::Client;
use crate::error::KitError;
use crate::invites::invite;
use crate::link::{Incoming, Link};

/// The origin in-memory clients sign.
pub const MEMORY_ORIGIN: &str = "ws://relay.test";
/// Messages either way before a sender waits: a socket buffers as much.
const CHANNEL_MESSAGES: usize = 4096;

/// A relay core with its store, without HTTP.
pub struct MemoryRelay {
    /// The relay core.
    pub hub: Hub,
    /// Its store (the same one the hub uses).
    pub store: SqliteStore,
    data: tempfile::TempDir,
}

impl MemoryRelay {
    /// A fresh relay with default settings.
    pub async fn start() -> Result<Self, KitError> {
        Self::start_with(
            SessionConfig::default(),
            StoreLimits::default(),
            Arc::new(OsEntropy),
        )
        .await
    }

    /// A fresh relay with these settings and this randomness.
    pub async fn start_with(
        config: SessionConfig,
        limits: StoreLimits,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Self, KitError> {
        let data = tempfile::tempdir().map_err(KitError::io("temporary directory"))?;
        let store = SqliteStore::open(data.path(), limits)?;
        let hub = Hub::start(Arc::new(store.clone()), config, entropy).await?;
        Ok(Self { hub, store, data })
    }

    /// The store's directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data.path()
    }

    /// A client whose session runs on channels.
    pub fn connect(&self) -> Client<ChannelLink> {
        let (to_relay, from_client) =
            mpsc::channel::<Result<Message, Infallible>>(CHANNEL_MESSAGES);
        let (to_client, from_relay) = mpsc::channel::<Message>(CHANNEL_MESSAGES);
        let peer = SocketAddr::from(([127, 0, 0, 1], 0));
        tokio::spawn(
            self.hub
                .session(to_client, from_client, MEMORY_ORIGIN.into(), peer),
        );
        Client::new(ChannelLink {
            to_relay,
            from_relay,
        })
    }

    /// An invitation for `handle`, valid a day; its token.
    pub async fn invite(&self, handle: &str, name: &str) -> Result<String, KitError> {
        let token = format!("token-{handle}-{}", fresh_suffix());
        invite(&self.store, handle, name, &token).await?;
        Ok(token)
    }
}

/// Tells tokens of one handle apart.
fn fresh_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A [`Link`] to a session over channels.
pub struct ChannelLink {
    to_relay: mpsc::Sender<Result<Message, Infallible>>,
    from_relay: mpsc::Receiver<Message>,
}

impl Link for ChannelLink {
    async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<(), KitError> {
        self.to_relay
            .send(Ok(Message::Binary(bytes.into())))
            .await
            .map_err(|_| KitError::Closed(None))
    }

    async fn receive(&mut self) -> Incoming {
        loop {
            match self.from_relay.next().await {
                None => return Incoming::Closed(None),
                Some(Message::Close(frame)) => return Incoming::Closed(frame.map(|f| f.code)),
                Some(Message::Binary(bytes)) => return Incoming::Binary(bytes.to_vec()),
                Some(_) => {}
            }
        }
    }
}
