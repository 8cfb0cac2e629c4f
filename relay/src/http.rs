//! The relay's HTTP routes: `/healthz`, `/metrics`, the WebSocket upgrade
//! (same-origin and per-address limits), and the site.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use estafette_wire::WEBSOCKET_PATH;
use estafette_wire::limits::MAX_FRAME_BYTES;
use governor::DefaultKeyedRateLimiter;

use crate::hub::Hub;
use crate::settings::{READ_BUFFER_BYTES, WRITE_BUFFER_BYTES};
use crate::site;

/// What every route handler gets.
#[derive(Clone)]
pub struct AppState {
    /// The relay core.
    pub hub: Hub,
    /// Origins clients reach the relay at, the first one the default.
    pub origins: Arc<Vec<String>>,
    /// New WebSockets per second per address.
    pub ip_limit: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

/// Every route, with the security headers; the site if `site_dir` is given.
pub fn router(state: AppState, site_dir: Option<&std::path::Path>) -> Router {
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
    match state.hub.store().ping().await {
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
        state.hub.metrics().render(),
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
    let hub = state.hub;
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(WRITE_BUFFER_BYTES + MAX_FRAME_BYTES + 1024)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            use futures::StreamExt;
            let (sink, stream) = socket.split();
            hub.session(sink, stream, origin, peer)
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
