//! Runs in headless Chromium: `cargo test -p estafette-client --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

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

mod fake_relay;

/// The messenger over IndexedDB: 30 real ciphertexts are decrypted, stored,
/// acknowledged only after storing, counted unread, owe delivered receipts,
/// and are all there again after a reload (a new connection to the database).
#[wasm_bindgen_test]
async fn messenger_over_indexed_db_stores_history_that_survives_a_reload() {
    use estafette_client::conversation;
    use estafette_client::messenger::{DeliveryState, Event, Messenger};

    let name = "estafette-test-messenger";
    let vault = Vault::new(fresh_db(name).await);
    vault.create("passphrase", &suite::FAST).await.unwrap();
    let bob = fake_relay::identity("bob@x.gouv.fr");
    let mut alice = fake_relay::Sender::new("alice@x.gouv.fr", &bob);
    let link = fake_relay::FakeLink::listing(&alice);
    for i in 0..30 {
        let frame = alice.text(&format!("message {i} <b>pas du HTML</b>"));
        link.0.borrow_mut().incoming.push_back(frame);
    }
    let mut messenger = Messenger::with_link(&vault, bob, link.clone());
    let mut added = Vec::new();
    while added.len() < 30 {
        for event in messenger.next_events().await.unwrap() {
            match event {
                Event::MessageAdded(m) => added.push(m),
                Event::Rejected { reason, .. } => panic!("rejected: {reason}"),
                _ => {}
            }
        }
    }
    assert_eq!(link.0.borrow().acks, (1..=30).collect::<Vec<u64>>());
    assert!(added.iter().all(|m| m.state == DeliveryState::Received));
    assert_eq!(messenger.receipts_owed().await.unwrap(), 30);
    drop(messenger);
    drop(vault);

    let reopened = Vault::new(IndexedDbStore::open(name).await.unwrap());
    reopened.unlock("passphrase").await.unwrap();
    let (history, unreadable) = conversation::messages(&reopened, "alice@x.gouv.fr", 50)
        .await
        .unwrap();
    assert_eq!(unreadable, 0);
    let texts: Vec<_> = history.iter().map(|m| m.text.clone()).collect();
    assert_eq!(
        texts,
        (0..30)
            .map(|i| format!("message {i} <b>pas du HTML</b>"))
            .collect::<Vec<_>>()
    );
    let (list, _) = conversation::conversations(&reopened).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].unread, 30);
    assert_eq!(list[0].last_text, "message 29 <b>pas du HTML</b>");
    reopened.erase().await.unwrap();
}
