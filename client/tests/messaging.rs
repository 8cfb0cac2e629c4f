//! Two accounts messaging through the real relay (in process).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod relay_harness;
mod suite;

use std::time::Duration;

use estafette_client::messenger::{DeliveryState, Event, Messenger, MessengerError};
use estafette_client::store::{MemoryStore, Vault};
use estafette_client::transport::{NativeLink, NativeTransport};
use estafette_client::unlock;
use estafette_relay::{Relay, Settings};

async fn member<'v>(
    vault: &'v Vault<MemoryStore>,
    relay: &Relay,
    data: &std::path::Path,
    handle: &str,
) -> Messenger<'v, MemoryStore, NativeLink> {
    let identity = relay_harness::join_and_unlock(
        vault,
        relay.local_addr(),
        data,
        handle,
        &handle.to_uppercase(),
    )
    .await;
    Messenger::connect(vault, identity, &NativeTransport)
        .await
        .unwrap()
}

/// Events until `n` messages were added (or 10 s pass).
async fn receive(m: &mut Messenger<'_, MemoryStore, NativeLink>, n: usize) -> Vec<Event> {
    let mut events = Vec::new();
    let added = |e: &Vec<Event>| {
        e.iter()
            .filter(|e| matches!(e, Event::MessageAdded(_)))
            .count()
    };
    while added(&events) < n {
        let more = tokio::time::timeout(Duration::from_secs(10), m.next_events())
            .await
            .expect("timed out")
            .unwrap();
        events.extend(more);
    }
    events
}

fn texts(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::MessageAdded(m) => Some(m.text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn two_accounts_exchange_messages_both_ways_including_offline() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(Settings::ephemeral(data.path().to_path_buf()))
        .await
        .unwrap();
    let (alice_vault, bob_vault) = (
        Vault::new(MemoryStore::new()),
        Vault::new(MemoryStore::new()),
    );
    let mut alice = member(&alice_vault, &relay, data.path(), "alice@x.gouv.fr").await;
    let mut bob = member(&bob_vault, &relay, data.path(), "bob@x.gouv.fr").await;

    let sent = alice
        .send_text("bob@x.gouv.fr", "Bonjour Bob")
        .await
        .unwrap();
    assert_eq!(sent.state, DeliveryState::Sent);
    assert_eq!(texts(&receive(&mut bob, 1).await), ["Bonjour Bob"]);
    bob.send_text("alice@x.gouv.fr", "Bonjour Alice")
        .await
        .unwrap();
    assert_eq!(texts(&receive(&mut alice, 1).await), ["Bonjour Alice"]);

    // Bob goes offline; Alice writes 20 messages; Bob comes back and gets them all, in order.
    drop(bob);
    for i in 0..20 {
        alice
            .send_text("bob@x.gouv.fr", &format!("message {i}"))
            .await
            .unwrap();
    }
    let identity = unlock(&bob_vault, "phrase").await.unwrap();
    let mut bob = Messenger::connect(&bob_vault, identity, &NativeTransport)
        .await
        .unwrap();
    let got = texts(&receive(&mut bob, 20).await);
    assert_eq!(
        got,
        (0..20).map(|i| format!("message {i}")).collect::<Vec<_>>()
    );

    // Both sides keep the history, oldest first.
    let (history, unreadable) = bob.messages("alice@x.gouv.fr", 50).await.unwrap();
    assert_eq!(unreadable, 0);
    assert_eq!(history.len(), 22);
    assert_eq!(history[0].text, "Bonjour Bob");
    assert_eq!(history[1].text, "Bonjour Alice");
    let (alice_history, _) = alice.messages("bob@x.gouv.fr", 5).await.unwrap();
    assert_eq!(
        alice_history.last().map(|m| m.text.as_str()),
        Some("message 19")
    );
    assert!(alice_history.iter().all(|m| m.state == DeliveryState::Sent));
}

#[tokio::test]
async fn a_tampered_ciphertext_is_rejected_and_a_changed_identity_blocks_sending() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(Settings::ephemeral(data.path().to_path_buf()))
        .await
        .unwrap();
    let (alice_vault, bob_vault) = (
        Vault::new(MemoryStore::new()),
        Vault::new(MemoryStore::new()),
    );
    let mut alice = member(&alice_vault, &relay, data.path(), "alice@x.gouv.fr").await;
    let bob = member(&bob_vault, &relay, data.path(), "bob@x.gouv.fr").await;
    drop(bob);
    alice.send_text("bob@x.gouv.fr", "intact").await.unwrap();
    alice.send_text("bob@x.gouv.fr", "altéré").await.unwrap();
    alice
        .send_text("bob@x.gouv.fr", "intact aussi")
        .await
        .unwrap();

    // The relay (test harness) flips a byte of the second copy in its queue.
    let db = rusqlite::Connection::open(data.path().join("relay.sqlite3")).unwrap();
    let (seq, mut payload): (i64, Vec<u8>) = db
        .query_row(
            "SELECT id, payload FROM payloads ORDER BY id LIMIT 1 OFFSET 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let last = payload.len() - 1;
    payload[last] ^= 0x01;
    db.execute(
        "UPDATE payloads SET payload = ?1 WHERE id = ?2",
        rusqlite::params![payload, seq],
    )
    .unwrap();

    let identity = unlock(&bob_vault, "phrase").await.unwrap();
    let mut bob = Messenger::connect(&bob_vault, identity, &NativeTransport)
        .await
        .unwrap();
    let events = receive(&mut bob, 2).await;
    assert_eq!(texts(&events), ["intact", "intact aussi"]);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Rejected { sender, .. } if sender == "alice@x.gouv.fr"))
    );

    // The directory now shows another identity key for Bob (a relay attack, or
    // a reinstall): Alice's next send is blocked until she accepts it.
    db.execute(
        "UPDATE accounts SET account_key = ?1 WHERE handle = 'bob@x.gouv.fr'",
        [vec![7u8; 32]],
    )
    .unwrap();
    db.execute(
        "INSERT INTO devices (device_id, account_id, certificate, created_at) \
         SELECT ?1, id, x'00', 0 FROM accounts WHERE handle = 'bob@x.gouv.fr'",
        [vec![9u8; 16]],
    )
    .unwrap();
    let blocked = alice.send_text("bob@x.gouv.fr", "tu es là ?").await;
    assert_eq!(
        blocked.err(),
        Some(MessengerError::IdentityChanged("bob@x.gouv.fr".into()))
    );
    let again = alice.send_text("bob@x.gouv.fr", "toujours bloqué").await;
    assert_eq!(
        again.err(),
        Some(MessengerError::IdentityChanged("bob@x.gouv.fr".into()))
    );
    let contact = alice.contact("bob@x.gouv.fr").await.unwrap().unwrap();
    assert_eq!(contact.changed_key.map(|k| *k), Some([7u8; 32]));
}

#[tokio::test]
async fn one_time_prekeys_are_refilled_when_the_relay_runs_low() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(Settings::ephemeral(data.path().to_path_buf()))
        .await
        .unwrap();
    let bob_vault = Vault::new(MemoryStore::new());
    let bob = member(&bob_vault, &relay, data.path(), "bob@x.gouv.fr").await;
    drop(bob);
    // Others consumed most of Bob's one-time prekeys (simulated in the relay's store).
    let db = rusqlite::Connection::open(data.path().join("relay.sqlite3")).unwrap();
    db.execute("DELETE FROM one_time_prekeys WHERE id > 5", [])
        .unwrap();
    db.execute("DELETE FROM kem_one_time_prekeys WHERE id > 110", [])
        .unwrap();
    let count = |table: &str| -> i64 {
        db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    let (opk_before, pqopk_before) = (count("one_time_prekeys"), count("kem_one_time_prekeys"));
    assert!(opk_before < 20, "{opk_before}");

    let identity = unlock(&bob_vault, "phrase").await.unwrap();
    let mut bob = Messenger::connect(&bob_vault, identity, &NativeTransport)
        .await
        .unwrap();
    let events = tokio::time::timeout(Duration::from_secs(30), bob.next_events())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        events,
        vec![Event::PreKeysRefilled {
            one_time: 100,
            kem_one_time: 100
        }],
        "before: {opk_before} {pqopk_before}"
    );
    assert_eq!(
        (count("one_time_prekeys"), count("kem_one_time_prekeys")),
        (100, 100)
    );

    // A newcomer's session uses a refilled key, which Bob holds: the message opens.
    let alice_vault = Vault::new(MemoryStore::new());
    let mut alice = member(&alice_vault, &relay, data.path(), "alice@x.gouv.fr").await;
    db.execute("DELETE FROM one_time_prekeys WHERE id <= 5", [])
        .unwrap();
    alice
        .send_text("bob@x.gouv.fr", "avec une clé neuve")
        .await
        .unwrap();
    assert_eq!(texts(&receive(&mut bob, 1).await), ["avec une clé neuve"]);
}

#[tokio::test]
async fn the_signed_prekey_rotates_after_a_week_and_new_sessions_use_it() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(Settings::ephemeral(data.path().to_path_buf()))
        .await
        .unwrap();
    let (alice_vault, bob_vault) = (
        Vault::new(MemoryStore::new()),
        Vault::new(MemoryStore::new()),
    );
    let mut bob = member(&bob_vault, &relay, data.path(), "bob@x.gouv.fr").await;
    let db = rusqlite::Connection::open(data.path().join("relay.sqlite3")).unwrap();
    let published = |table: &str| -> i64 {
        db.query_row(&format!("SELECT id FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    let (spk, kem) = (
        published("signed_prekeys"),
        published("kem_last_resort_prekeys"),
    );
    assert_eq!(Some(spk as u32), bob.signed_prekey_id());

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(!bob.rotate_signed_prekey_if_due(now).await.unwrap());
    let week_later = now + 8 * 24 * 3600 * 1000;
    assert!(bob.rotate_signed_prekey_if_due(week_later).await.unwrap());
    // Both the signed X25519 prekey and the last-resort ML-KEM key changed on the relay.
    assert_ne!(published("signed_prekeys"), spk);
    assert_ne!(published("kem_last_resort_prekeys"), kem);
    assert_eq!(
        Some(published("signed_prekeys") as u32),
        bob.signed_prekey_id()
    );
    assert!(!bob.rotate_signed_prekey_if_due(week_later).await.unwrap());

    // The rotated keys were saved: after a reload, a newcomer's session opens.
    drop(bob);
    let identity = unlock(&bob_vault, "phrase").await.unwrap();
    let mut bob = Messenger::connect(&bob_vault, identity, &NativeTransport)
        .await
        .unwrap();
    let mut alice = member(&alice_vault, &relay, data.path(), "alice@x.gouv.fr").await;
    alice
        .send_text("bob@x.gouv.fr", "après la rotation")
        .await
        .unwrap();
    assert_eq!(texts(&receive(&mut bob, 1).await), ["après la rotation"]);
}
