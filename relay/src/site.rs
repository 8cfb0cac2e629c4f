//! The built web app and the security headers of every HTTP response.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// The Content-Security-Policy of every response. The app has no inline
/// script (tools/postbuild.mjs moves Trunk's loader to a file); wasm needs
/// `'wasm-unsafe-eval'`; `connect-src 'self'` covers the same-origin WebSocket;
/// the app's worker starts from a `blob:` of its integrity-checked script
/// (`worker-src blob:`; docs/app.md, "Two parts").
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
worker-src 'self' blob:; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'";

/// Routes serving `site_dir`: `index.html` is never cached (it names the
/// current hashed assets); hashed assets are immutable; precompressed
/// `.br` / `.gz` copies are used when the browser accepts them.
pub fn routes(site_dir: &Path) -> Router {
    let index = site_dir.join("index.html");
    let assets = ServeDir::new(site_dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(
            ServeFile::new(&index)
                .precompressed_br()
                .precompressed_gzip(),
        );
    Router::new()
        .fallback_service(assets)
        .layer(axum::middleware::map_response(cache_control))
}

async fn cache_control(
    uri: axum::http::Uri,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let value = if is_hashed_asset(uri.path()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

/// Trunk names assets `name-<hash>.ext`, the hash a 64-bit number in hex
/// without leading zeros (16 digits, fewer one time in 16); the loader is
/// `loader-<16 hex>.js` and the worker's files `estafette-worker-<16 hex>`
/// (tools/postbuild.mjs).
fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or_default();
    let stem = file.split('.').next().unwrap_or_default();
    let hash = stem.rsplit(['-', '_']).next().unwrap_or_default();
    (12..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
        || stem
            .strip_suffix("_bg")
            .is_some_and(|s| is_hashed_asset(&format!("/{s}.x")))
}

/// Adds the security headers to every response of `router`.
pub fn with_security_headers(router: Router) -> Router {
    let headers: [(HeaderName, &'static str); 6] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::is_hashed_asset;

    #[test]
    fn only_trunk_hashed_names_are_immutable() {
        assert!(is_hashed_asset("/estafette-app-0123456789abcdef.js"));
        assert!(is_hashed_asset("/estafette-app-0123456789abcdef_bg.wasm"));
        assert!(is_hashed_asset("/main-0123456789abcdef.css"));
        assert!(is_hashed_asset("/loader-0123456789abcdef.js"));
        assert!(is_hashed_asset("/worker-0123456789abcdef.js"));
        assert!(is_hashed_asset(
            "/estafette-worker-0123456789abcdef_bg.wasm"
        ));
        // A hash with a leading zero digit dropped.
        assert!(is_hashed_asset("/estafette-app-cfe8409d4659683_bg.wasm"));
        assert!(!is_hashed_asset("/estafette-worker.js"));
        assert!(!is_hashed_asset("/app-0123.js"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/"));
        assert!(!is_hashed_asset("/icon.svg"));
        assert!(!is_hashed_asset("/app-0123456789abcdeg.js"));
    }
}
