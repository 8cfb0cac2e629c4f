//! Runs in headless Chromium: `cargo test -p estafette-client --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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

mod suite;

use estafette_client::store::{IndexedDbStore, MemoryStore, Vault};

async fn fresh_db(name: &str) -> IndexedDbStore {
    let _ = rexie::Rexie::delete(name).await;
    IndexedDbStore::open(name)
        .await
        .unwrap_or_else(|e| panic!("cannot open {name}: {e}"))
}

async fn database_names() -> Vec<String> {
    let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten());
    let Some(factory) = factory else {
        return Vec::new();
    };
    // `indexedDB.databases()` is not in stable web-sys yet: call it by name.
    let Ok(function) = js_sys::Reflect::get(&factory, &"databases".into()) else {
        return Vec::new();
    };
    let Ok(promise) = js_sys::Function::from(function).call0(&factory) else {
        return Vec::new();
    };
    let Ok(list) = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise)).await
    else {
        return Vec::new();
    };
    js_sys::Array::from(&list)
        .iter()
        .filter_map(|info| {
            js_sys::Reflect::get(&info, &"name".into())
                .ok()
                .and_then(|n| n.as_string())
        })
        .collect()
}

#[wasm_bindgen_test]
async fn memory_store_behaves_in_the_browser() {
    suite::records_round_trip_and_scan_in_key_order(&MemoryStore::new()).await;
    suite::the_vault_seals_every_record(&Vault::new(MemoryStore::new())).await;
}

#[wasm_bindgen_test]
async fn indexed_db_records_round_trip_and_scan_in_key_order() {
    suite::records_round_trip_and_scan_in_key_order(&fresh_db("estafette-test-records").await)
        .await;
}

#[wasm_bindgen_test]
async fn indexed_db_vault_seals_every_record() {
    suite::the_vault_seals_every_record(&Vault::new(fresh_db("estafette-test-vault").await)).await;
}

#[wasm_bindgen_test]
async fn indexed_db_records_survive_reopening_and_erase_deletes_the_database() {
    let name = "estafette-test-erase";
    let vault = Vault::new(fresh_db(name).await);
    vault
        .create("passphrase", &suite::FAST)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    vault
        .put(
            estafette_client::store::Table::Account,
            b"identity",
            b"keys",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(vault);
    // A reload: a new connection to the same database, unlocked again.
    let reopened = Vault::new(
        IndexedDbStore::open(name)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    reopened
        .unlock("passphrase")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let value = reopened
        .get(estafette_client::store::Table::Account, b"identity")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(value.map(|v| v.to_vec()), Some(b"keys".to_vec()));
    assert!(database_names().await.contains(&name.to_owned()));
    reopened.erase().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !database_names().await.contains(&name.to_owned()),
        "the database outlived erase"
    );
}
