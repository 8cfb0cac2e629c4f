//! Runs in headless Chromium: `cargo test -p estafette-client --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use estafette_client::{Backoff, ConnectionState, relay_url_for_page};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn relay_url_follows_the_page_origin() {
    let url = relay_url_for_page().unwrap_or_default();
    let host = web_sys::window()
        .map(|w| w.location().host().unwrap_or_default())
        .unwrap_or_default();
    assert_eq!(url, format!("ws://{host}/ws"));
}

#[wasm_bindgen_test]
fn backoff_uses_browser_randomness_within_bounds() {
    let mut backoff = Backoff::default();
    for n in 0..10u32 {
        let ceiling = (500u32 << n).min(15_000);
        let delay = backoff.next_delay_ms(js_sys::Math::random());
        assert!(
            (ceiling / 2..=ceiling).contains(&delay),
            "attempt {n}: {delay}"
        );
    }
}

#[wasm_bindgen_test]
fn states_have_stable_names() {
    let names: Vec<_> = [
        ConnectionState::Connecting,
        ConnectionState::Connected,
        ConnectionState::Reconnecting {
            attempt: 1,
            retry_in_ms: 500,
        },
        ConnectionState::Offline,
    ]
    .iter()
    .map(ConnectionState::as_str)
    .collect();
    assert_eq!(
        names,
        ["connecting", "connected", "reconnecting", "offline"]
    );
}
