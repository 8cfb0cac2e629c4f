//! The Estafette relay: serves the web app, and routes ciphertext between
//! devices over WebSockets. It never sees a plaintext or a private key.
//!
//! Module map: `docs/relay.md`, "Code".

mod acks;
mod auth;
mod clock;
mod config;
mod entropy;
mod housekeeping;
mod http;
mod hub;
mod metrics;
mod registry;
pub mod session;
mod settings;
mod shutdown;
mod site;
mod state;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use governor::{Quota, RateLimiter};
use thiserror::Error;

pub use config::SessionConfig;
pub use entropy::{Entropy, EntropyError, OsEntropy};
pub use hub::Hub;
pub use metrics::Metrics;
pub use settings::{READ_BUFFER_BYTES, Settings, WRITE_BUFFER_BYTES};
pub use site::CONTENT_SECURITY_POLICY;
pub use store::{SqliteStore, Store, StoreError, StoreLimits};

/// Why the relay could not start.
#[derive(Debug, Error)]
pub enum RelayError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listen address could not be bound.
    #[error("Cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The site directory has no `index.html`.
    #[error("The site directory {0} has no index.html; build the app first (make build).")]
    NoSite(String),
}

/// A running relay.
pub struct Relay {
    addr: SocketAddr,
    hub: Hub,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Relay {
    /// Opens the store, binds the address and starts serving.
    pub async fn start(settings: Settings) -> Result<Self, RelayError> {
        if let Some(site) = &settings.site_dir
            && !site.join("index.html").is_file()
        {
            return Err(RelayError::NoSite(site.display().to_string()));
        }
        let store = SqliteStore::open(&settings.data_dir, settings.limits)?;
        let installation = store.installation_id(random_id()).await?;
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|source| RelayError::Bind {
                addr: settings.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| RelayError::Bind {
            addr: settings.listen,
            source,
        })?;
        let hub = Hub::start(
            Arc::new(store),
            settings.session.clone(),
            Arc::new(OsEntropy),
        )
        .await?;
        let origins = if settings.public_origins.is_empty() {
            let mut origins = vec![format!("ws://{addr}")];
            if addr.ip().is_loopback() {
                origins.push(format!("ws://localhost:{}", addr.port()));
            }
            origins
        } else {
            settings.public_origins.clone()
        };
        let state = http::AppState {
            hub: hub.clone(),
            origins: Arc::new(origins),
            ip_limit: Arc::new(RateLimiter::keyed(Quota::per_second(
                settings.connections_per_ip,
            ))),
        };
        let app = http::router(state, settings.site_dir.as_deref());
        // Small frames must not wait for the peer's ACK (Nagle).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let stopping = hub.clone();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { stopping.stopped().await })
            .await
        });
        tracing::info!(%addr, %installation, "relay listening");
        Ok(Self { addr, hub, server })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, tells every client to reconnect later, and waits (at
    /// most `grace`) for sessions to close.
    pub async fn shutdown(mut self, grace: Duration) {
        self.hub.stop();
        let _ = tokio::time::timeout(grace, &mut self.server).await;
        let deadline = tokio::time::Instant::now() + grace;
        let metrics = self.hub.metrics();
        while metrics.connections_open.get() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A relay dropped without [`Relay::shutdown`] stops too, without waiting.
impl Drop for Relay {
    fn drop(&mut self) {
        self.hub.stop();
    }
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // Without OS randomness the id is only less unique; it is not a secret.
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
