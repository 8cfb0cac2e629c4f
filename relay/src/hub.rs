//! The relay without its HTTP server: the shared state, its background
//! tasks (acks, housekeeping), and sessions over any `Sink`/`Stream` of
//! WebSocket messages. [`crate::Relay`] serves it over axum; tests drive it
//! with channels.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::Message;
use futures::{Sink, Stream};
use tokio::sync::watch;

use crate::acks::Acks;
use crate::auth::ChallengeBook;
use crate::config::SessionConfig;
use crate::entropy::Entropy;
use crate::housekeeping;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::session::{self, SessionContext};
use crate::shutdown::stopped;
use crate::state::Shared;
use crate::store::{Store, StoreResult};

/// A running relay core. Clones share it; [`Hub::stop`] stops them all.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
    stop: Arc<watch::Sender<bool>>,
    shutdown: watch::Receiver<bool>,
}

impl Hub {
    /// Reads the storage gauges from `store` and starts the background tasks.
    pub async fn start(
        store: Arc<dyn Store>,
        config: SessionConfig,
        entropy: Arc<dyn Entropy>,
    ) -> StoreResult<Self> {
        let metrics = Arc::new(Metrics::new());
        let queued = store.queued_total().await?;
        let payloads = store.payloads_total().await?;
        metrics
            .queue_depth
            .set(i64::try_from(queued).unwrap_or(i64::MAX));
        metrics
            .payloads_stored
            .set(i64::try_from(payloads).unwrap_or(i64::MAX));
        let (stop, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            metrics: metrics.clone(),
            store,
            registry: Registry::default(),
            challenges: ChallengeBook::default(),
            acks: Arc::new(Acks::default()),
            config,
            entropy,
        });
        tokio::spawn(
            shared
                .acks
                .clone()
                .run(shared.store.clone(), metrics, shutdown.clone()),
        );
        tokio::spawn(housekeeping::run(shared.clone(), shutdown.clone()));
        Ok(Self {
            shared,
            stop: Arc::new(stop),
            shutdown,
        })
    }

    /// The relay's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    /// One client's session, to run until it ends. `origin` is what the
    /// client must sign (`ws://host:port`); `peer` is for logs. The future
    /// is the session's own: nothing of the hub is kept per socket.
    pub fn session<S, R, E>(
        &self,
        sink: S,
        stream: R,
        origin: String,
        peer: SocketAddr,
    ) -> impl Future<Output = ()> + use<S, R, E>
    where
        S: Sink<Message> + Unpin + Send + 'static,
        R: Stream<Item = Result<Message, E>> + Unpin,
    {
        let ctx = SessionContext {
            shared: self.shared.clone(),
            shutdown: self.shutdown.clone(),
            origin,
            peer,
        };
        session::run(sink, stream, ctx)
    }

    /// Tells every session (`ShuttingDown`) and background task to stop.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Resolves once [`Hub::stop`] was called.
    pub async fn stopped(&self) {
        stopped(&mut self.shutdown.clone()).await;
    }
}
