//! Group conversations through the real relay (in process): creation, texts
//! both ways, a member added later, a member removed, concurrent changes.
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

use estafette_client::group::GroupEvent;
use estafette_client::messenger::{
    DeliveryState, Event, GroupCommand, GroupView, Messenger, MessengerError, StoredMessage,
};
use estafette_client::store::{MemoryStore, Vault};
use estafette_client::transport::{NativeLink, NativeTransport};
use estafette_relay::{Relay, Settings};

type M<'v> = Messenger<'v, MemoryStore, NativeLink>;

async fn member<'v>(
    vault: &'v Vault<MemoryStore>,
    relay: &Relay,
    data: &std::path::Path,
    handle: &str,
) -> M<'v> {
    let name = handle.split('@').next().unwrap().to_uppercase();
    let identity =
        relay_harness::join_and_unlock(vault, relay.local_addr(), data, handle, &name).await;
    Messenger::connect(vault, identity, &NativeTransport)
        .await
        .unwrap()
}

/// Messages added (texts and group lines) until `pick` holds, within 10 s.
async fn until(m: &mut M<'_>, pick: impl Fn(&[StoredMessage]) -> bool) -> Vec<StoredMessage> {
    let mut added = Vec::new();
    while !pick(&added) {
        let events = tokio::time::timeout(Duration::from_secs(10), m.next_events())
            .await
            .expect("timed out waiting for messages")
            .unwrap();
        for event in events {
            if let Event::MessageAdded(message) = event {
                added.push(message);
            }
        }
    }
    added
}

/// Waits for `n` texts; returns them.
async fn texts(m: &mut M<'_>, n: usize) -> Vec<String> {
    until(m, |a| a.iter().filter(|x| x.event.is_none()).count() >= n)
        .await
        .into_iter()
        .filter(|x| x.event.is_none())
        .map(|x| x.text)
        .collect()
}

/// Nothing arrives for `ms` (frames are read and handled meanwhile).
async fn quiet(m: &mut M<'_>, ms: u64) -> Vec<Event> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    while let Ok(more) = tokio::time::timeout_at(deadline, m.next_events()).await {
        events.extend(more.unwrap());
    }
    events
}

async fn view(m: &mut M<'_>, conversation: &str) -> GroupView {
    m.group_view(conversation).await.unwrap()
}

struct Cast {
    _data: tempfile::TempDir,
    relay: Relay,
    vaults: Vec<Vault<MemoryStore>>,
}

impl Cast {
    async fn new(n: usize) -> Self {
        let data = tempfile::tempdir().unwrap();
        let relay = Relay::start(Settings::ephemeral(data.path().to_path_buf()))
            .await
            .unwrap();
        Self {
            _data: data,
            relay,
            vaults: (0..n).map(|_| Vault::new(MemoryStore::new())).collect(),
        }
    }

    async fn member(&self, i: usize, handle: &str) -> M<'_> {
        member(&self.vaults[i], &self.relay, self._data.path(), handle).await
    }
}

const ALICE: &str = "alice@x.gouv.fr";
const BOB: &str = "bob@x.gouv.fr";
const CAROL: &str = "carol@x.gouv.fr";
const DAN: &str = "dan@x.gouv.fr";

#[tokio::test]
async fn three_members_chat_then_a_removed_member_receives_nothing_more() {
    let cast = Cast::new(3).await;
    let mut alice = cast.member(0, ALICE).await;
    let mut bob = cast.member(1, BOB).await;
    let mut carol = cast.member(2, CAROL).await;

    let group = alice
        .create_group("Équipe projet", &[BOB.into(), CAROL.into()])
        .await
        .unwrap();
    let id = group.handle.clone();
    assert!(id.starts_with("g:"));
    assert_eq!(group.group.unwrap().members, 3);
    alice.flush_outbox().await.unwrap();
    let sent = alice.send_text(&id, "Bonjour à tous").await.unwrap();
    assert_eq!(sent.state, DeliveryState::Sent);

    // Bob and Carol learn of the group (a line), then read the text.
    for m in [&mut bob, &mut carol] {
        let added = until(m, |a| a.iter().any(|x| x.event.is_none())).await;
        assert!(matches!(
            &added[0].event,
            Some(GroupEvent::Created { by, name }) if by.handle == ALICE && name == "Équipe projet"
        ));
        assert_eq!(added[1].text, "Bonjour à tous");
        assert_eq!(added[1].conversation, id);
        let v = view(m, &id).await;
        assert_eq!(v.members.len(), 3);
        assert!(v.member && !v.admin);
        assert_eq!(v.name, "Équipe projet");
    }

    // Replies reach everyone else.
    bob.send_text(&id, "Salut, c'est Bob").await.unwrap();
    assert_eq!(texts(&mut alice, 1).await, ["Salut, c'est Bob"]);
    assert_eq!(texts(&mut carol, 1).await, ["Salut, c'est Bob"]);
    carol.send_text(&id, "Et Carol").await.unwrap();
    assert_eq!(texts(&mut alice, 1).await, ["Et Carol"]);
    assert_eq!(texts(&mut bob, 1).await, ["Et Carol"]);

    // A member may not remove anyone.
    let refused = bob
        .change_group(&id, GroupCommand::Remove(CAROL.into()))
        .await;
    assert!(matches!(refused, Err(MessengerError::Group(_))));

    // Alice removes Carol: everyone sees the line, Carol included.
    alice
        .change_group(&id, GroupCommand::Remove(CAROL.into()))
        .await
        .unwrap();
    alice.flush_outbox().await.unwrap();
    for m in [&mut bob, &mut carol] {
        let added = until(m, |a| !a.is_empty()).await;
        assert!(matches!(
            &added[0].event,
            Some(GroupEvent::Removed { members, .. }) if members[0].handle == CAROL
        ));
    }
    assert!(!view(&mut carol, &id).await.member);
    assert_eq!(view(&mut bob, &id).await.members.len(), 2);

    // After the removal, Alice and Bob talk; Carol receives nothing.
    alice.send_text(&id, "Sans Carol").await.unwrap();
    assert_eq!(texts(&mut bob, 1).await, ["Sans Carol"]);
    bob.send_text(&id, "Bien reçu").await.unwrap();
    // A relay that still gave Carol Bob's message (here the test's hand in
    // its queue): she cannot read it, Bob's chain is a new one.
    let db = rusqlite::Connection::open(cast._data.path().join("relay.sqlite3")).unwrap();
    let seq: i64 = db
        .query_row(
            "SELECT id FROM payloads WHERE sender_handle = ?1 ORDER BY id DESC LIMIT 1",
            [BOB],
            |r| r.get(0),
        )
        .unwrap();
    let carol_device: Vec<u8> = db
        .query_row(
            "SELECT d.device_id FROM devices d JOIN accounts a ON a.id = d.account_id WHERE a.handle = ?1",
            [CAROL],
            |r| r.get(0),
        )
        .unwrap();
    db.execute(
        "INSERT INTO queue_entries (device_id, seq) VALUES (?1, ?2)",
        rusqlite::params![carol_device, seq],
    )
    .unwrap();
    assert_eq!(texts(&mut alice, 1).await, ["Bien reçu"]);
    carol.reconnect(&NativeTransport).await.unwrap();
    let heard = quiet(&mut carol, 1500).await;
    assert!(
        !heard.iter().any(|e| matches!(e, Event::MessageAdded(_))),
        "the removed member read {heard:?}"
    );
    assert!(
        heard
            .iter()
            .any(|e| matches!(e, Event::Rejected { sender, .. } if sender == BOB)),
        "the removed member was not even given the message: {heard:?}"
    );
    // And Carol can no longer write to the group.
    assert!(matches!(
        carol.send_text(&id, "Encore là ?").await,
        Err(MessengerError::Group(_))
    ));

    // The history is kept on every side, lines included.
    let (history, unreadable) = bob.messages(&id, 50).await.unwrap();
    assert_eq!(unreadable, 0);
    let shown: Vec<&str> = history
        .iter()
        .filter(|m| m.event.is_none())
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(
        shown,
        [
            "Bonjour à tous",
            "Salut, c'est Bob",
            "Et Carol",
            "Sans Carol",
            "Bien reçu"
        ]
    );
}

#[tokio::test]
async fn a_member_added_later_reads_from_the_moment_of_joining() {
    let cast = Cast::new(3).await;
    let mut alice = cast.member(0, ALICE).await;
    let mut bob = cast.member(1, BOB).await;
    let mut dan = cast.member(2, DAN).await;
    let id = alice
        .create_group("Cellule", &[BOB.into()])
        .await
        .unwrap()
        .handle;
    alice.flush_outbox().await.unwrap();
    alice.send_text(&id, "avant Dan").await.unwrap();
    assert_eq!(texts(&mut bob, 1).await, ["avant Dan"]);

    alice
        .change_group(&id, GroupCommand::Add(vec![DAN.into()]))
        .await
        .unwrap();
    alice.flush_outbox().await.unwrap();
    let added = until(&mut dan, |a| !a.is_empty()).await;
    assert!(matches!(
        &added[0].event,
        Some(GroupEvent::Added { by, members }) if by.handle == ALICE && members[0].handle == DAN
    ));
    let added = until(&mut bob, |a| !a.is_empty()).await;
    assert!(matches!(&added[0].event, Some(GroupEvent::Added { .. })));

    alice.send_text(&id, "bienvenue Dan").await.unwrap();
    bob.send_text(&id, "salut Dan").await.unwrap();
    let got = texts(&mut dan, 2).await;
    assert_eq!(got, ["bienvenue Dan", "salut Dan"]);
    dan.send_text(&id, "merci").await.unwrap();
    assert_eq!(texts(&mut alice, 2).await, ["salut Dan", "merci"]);
    assert_eq!(texts(&mut bob, 2).await, ["bienvenue Dan", "merci"]);
    // Dan's history starts with his arrival.
    let (history, _) = dan.messages(&id, 50).await.unwrap();
    assert!(!history.iter().any(|m| m.text == "avant Dan"));
}

#[tokio::test]
async fn concurrent_renames_by_two_admins_converge_everywhere() {
    let cast = Cast::new(3).await;
    let mut alice = cast.member(0, ALICE).await;
    let mut bob = cast.member(1, BOB).await;
    let mut carol = cast.member(2, CAROL).await;
    let id = alice
        .create_group("Départ", &[BOB.into(), CAROL.into()])
        .await
        .unwrap()
        .handle;
    alice
        .change_group(&id, GroupCommand::MakeAdmin(BOB.into()))
        .await
        .unwrap();
    alice.flush_outbox().await.unwrap();
    for m in [&mut bob, &mut carol] {
        until(m, |a| a.len() >= 2).await;
    }
    assert!(view(&mut bob, &id).await.admin);

    // Both rename before hearing of the other's change.
    alice
        .change_group(&id, GroupCommand::Rename("Nom d'Alice".into()))
        .await
        .unwrap();
    bob.change_group(&id, GroupCommand::Rename("Nom de Bob".into()))
        .await
        .unwrap();
    alice.flush_outbox().await.unwrap();
    bob.flush_outbox().await.unwrap();
    quiet(&mut alice, 800).await;
    quiet(&mut bob, 800).await;
    quiet(&mut carol, 800).await;
    let names = [
        view(&mut alice, &id).await.name,
        view(&mut bob, &id).await.name,
        view(&mut carol, &id).await.name,
    ];
    assert_eq!(names[0], names[1]);
    assert_eq!(names[1], names[2]);
    assert!(names[0] == "Nom d'Alice" || names[0] == "Nom de Bob");
}
