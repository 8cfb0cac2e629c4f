//! The Estafette relay: serves the web app, and routes ciphertext between
//! devices over WebSockets. It never sees a plaintext or a private key.

mod acks;
mod auth;
mod metrics;
mod registry;
pub mod session;
mod settings;
mod site;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use estafette_wire::WEBSOCKET_PATH;
use estafette_wire::limits::MAX_FRAME_BYTES;
use thiserror::Error;
use tokio::sync::watch;

pub use metrics::Metrics;
pub use session::SessionConfig;
pub use settings::{READ_BUFFER_BYTES, Settings, WRITE_BUFFER_BYTES};
pub use site::CONTENT_SECURITY_POLICY;
pub use store::{SqliteStore, Store, StoreError, StoreLimits};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use session::Shared;

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

#[derive(Clone)]
struct AppState {
    shared: Arc<Shared>,
    origins: Arc<Vec<String>>,
    ip_limit: Arc<DefaultKeyedRateLimiter<std::net::IpAddr>>,
    shutdown: watch::Receiver<bool>,
}

/// A running relay.
pub struct Relay {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    metrics: Arc<Metrics>,
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
        let queued = Store::queued_total(&store).await?;
        let payloads = Store::payloads_total(&store).await?;
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
        let (stop, shutdown) = watch::channel(false);
        let metrics = Arc::new(Metrics::new());
        metrics
            .queue_depth
            .set(i64::try_from(queued).unwrap_or(i64::MAX));
        metrics
            .payloads_stored
            .set(i64::try_from(payloads).unwrap_or(i64::MAX));
        let shared = Arc::new(Shared {
            metrics: metrics.clone(),
            store: Arc::new(store),
            registry: registry::Registry::default(),
            challenges: auth::ChallengeBook::default(),
            acks: Arc::new(acks::Acks::default()),
            config: settings.session.clone(),
        });
        tokio::spawn(shared.acks.clone().run(
            shared.store.clone(),
            metrics.clone(),
            shutdown.clone(),
        ));
        let origins = if settings.public_origins.is_empty() {
            let mut origins = vec![format!("ws://{addr}")];
            if addr.ip().is_loopback() {
                origins.push(format!("ws://localhost:{}", addr.port()));
            }
            origins
        } else {
            settings.public_origins.clone()
        };
        let state = AppState {
            shared: shared.clone(),
            origins: Arc::new(origins),
            ip_limit: Arc::new(RateLimiter::keyed(Quota::per_second(
                settings.connections_per_ip,
            ))),
            shutdown: shutdown.clone(),
        };
        tokio::spawn(housekeeping(shared, shutdown.clone()));
        let app = router(state, settings.site_dir.as_deref());
        let mut stopping = shutdown;
        // Small frames must not wait for the peer's ACK (Nagle).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stopping.wait_for(|s| *s).await;
            })
            .await
        });
        tracing::info!(%addr, %installation, "relay listening");
        Ok(Self {
            addr,
            stop,
            server,
            metrics,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, tells every client to reconnect later, and waits (at
    /// most `grace`) for sessions to close.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(grace, self.server).await;
        let deadline = tokio::time::Instant::now() + grace;
        while self.metrics.connections_open.get() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // Without OS randomness the id is only less unique; it is not a secret.
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Expires old copies every minute; closes revoked accounts' sockets within a second.
async fn housekeeping(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut revoked_since = session::now_ms();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut ticks = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = session::stopped(&mut shutdown) => return,
        }
        ticks += 1;
        let now = session::now_ms();
        match shared
            .store
            .revoked_devices_since(revoked_since.saturating_sub(1_000))
            .await
        {
            Ok(devices) => {
                for device in devices {
                    shared.registry.notify(device, registry::Control::Revoked);
                }
                revoked_since = now;
            }
            Err(error) => tracing::warn!(%error, "cannot read revocations"),
        }
        if ticks.is_multiple_of(120) {
            match shared.store.expire(now).await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "expired queued copies"),
                Err(error) => tracing::warn!(%error, "cannot expire copies"),
            }
            if let Ok(total) = shared.store.queued_total().await {
                shared
                    .metrics
                    .queue_depth
                    .set(i64::try_from(total).unwrap_or(i64::MAX));
            }
            if let Ok(total) = shared.store.payloads_total().await {
                shared
                    .metrics
                    .payloads_stored
                    .set(i64::try_from(total).unwrap_or(i64::MAX));
            }
        }
    }
}

fn router(state: AppState, site_dir: Option<&std::path::Path>) -> Router {
    let api = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route(WEBSOCKET_PATH, get(websocket))
        .with_state(state);
    let app = match site_dir {
        Some(dir) => api.merge(site::routes(dir)),
        None => api,
    };
    site::with_security_headers(app)
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.shared.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.shared.metrics.render(),
    )
        .into_response()
}

async fn websocket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-origin WebSocket refused\n").into_response();
    }
    if state.ip_limit.check_key(&peer.ip()).is_err() {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from this address\n",
        )
            .into_response();
    }
    // The origin the client signs: the configured one whose host it reached.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin = state
        .origins
        .iter()
        .find(|o| {
            o.split_once("://")
                .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
        })
        .or(state.origins.first())
        .cloned()
        .unwrap_or_default();
    let ctx = session::SessionContext {
        shared: state.shared.clone(),
        shutdown: state.shutdown.clone(),
        origin,
        peer,
    };
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(WRITE_BUFFER_BYTES + MAX_FRAME_BYTES + 1024)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            use futures::StreamExt;
            let (sink, stream) = socket.split();
            session::run(sink, stream, ctx)
        })
}

/// A browser always sends `Origin`; refuse pages of other sites (cross-site
/// WebSocket hijacking). Native clients send none.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let authority = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    !host.is_empty() && authority.eq_ignore_ascii_case(host)
}
