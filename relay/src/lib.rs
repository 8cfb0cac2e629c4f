//! The Estafette relay: serves the web app, and routes ciphertext between
//! devices over WebSockets. It never sees a plaintext or a private key.

mod metrics;
pub mod session;
mod settings;
mod site;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use estafette_wire::WEBSOCKET_PATH;
use estafette_wire::limits::MAX_FRAME_BYTES;
use thiserror::Error;
use tokio::sync::watch;

pub use metrics::Metrics;
pub use settings::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_OUTBOUND_QUEUE, READ_BUFFER_BYTES, Settings, WRITE_BUFFER_BYTES,
};
pub use site::CONTENT_SECURITY_POLICY;
pub use store::{SqliteStore, StoreError};

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
    metrics: Arc<Metrics>,
    store: SqliteStore,
    settings: Arc<Settings>,
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
        let store = SqliteStore::open(&settings.data_dir)?;
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
        let state = AppState {
            metrics: metrics.clone(),
            store,
            settings: Arc::new(settings),
            shutdown: shutdown.clone(),
        };
        let app = router(state);
        let mut stopping = shutdown;
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

fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route(WEBSOCKET_PATH, get(websocket))
        .with_state(state.clone());
    let app = match &state.settings.site_dir {
        Some(dir) => api.merge(site::routes(dir)),
        None => api,
    };
    site::with_security_headers(app)
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
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
        state.metrics.render(),
    )
        .into_response()
}

async fn websocket(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-origin WebSocket refused\n").into_response();
    }
    let ctx = session::SessionContext {
        metrics: state.metrics.clone(),
        shutdown: state.shutdown.clone(),
        outbound_queue: state.settings.outbound_queue,
        idle_timeout: state.settings.idle_timeout,
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
