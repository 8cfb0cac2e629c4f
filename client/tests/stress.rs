//! Two accounts exchange 1,000 messages each way while their links are cut at
//! random and the relay restarts; afterwards nothing is lost or duplicated and
//! each sender's order is kept.
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

use estafette_client::messenger::{Event, Messenger};
use estafette_client::store::{MemoryStore, Vault};
use estafette_client::transport::{NativeLink, NativeTransport};
use estafette_client::{join, unlock};
use estafette_relay::store::Store;
use estafette_relay::{Relay, Settings, SqliteStore, StoreLimits};
use sha2::Digest;

const PER_SIDE: usize = 1_000;

fn per_side() -> usize {
    std::env::var("STRESS_PER_SIDE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PER_SIDE)
}

struct Party<'v> {
    name: &'static str,
    peer: &'static str,
    vault: &'v Vault<MemoryStore>,
    messenger: Option<Messenger<'v, MemoryStore, NativeLink>>,
    next: usize,
    received: Vec<usize>,
    reconnects: usize,
}

impl<'v> Party<'v> {
    async fn ensure_connected(&mut self) -> bool {
        if self.messenger.is_some() {
            return true;
        }
        let Ok(identity) = unlock(self.vault, "phrase").await else {
            return false;
        };
        match Messenger::connect(self.vault, identity, &NativeTransport).await {
            Ok(mut m) => {
                self.reconnects += 1;
                if m.flush_outbox().await.is_err() {
                    return false;
                }
                self.messenger = Some(m);
                true
            }
            Err(_) => false,
        }
    }

    /// Sends up to `n` more messages; a failure cuts the link (the message stays in the outbox).
    async fn send(&mut self, n: usize) {
        for _ in 0..n {
            if self.next >= per_side() || !self.ensure_connected().await {
                return;
            }
            let text = format!("{}-{}", self.name, self.next);
            let Some(m) = self.messenger.as_mut() else {
                return;
            };
            self.next += 1;
            if m.send_text(self.peer, &text).await.is_err() {
                self.messenger = None;
                return;
            }
        }
    }

    /// Takes whatever arrives within `wait`.
    async fn drain(&mut self, wait: Duration) {
        if !self.ensure_connected().await {
            return;
        }
        loop {
            let Some(m) = self.messenger.as_mut() else {
                return;
            };
            match tokio::time::timeout(wait, m.next_events()).await {
                Err(_) => return,
                Ok(Err(_)) => {
                    self.messenger = None;
                    return;
                }
                Ok(Ok(events)) => {
                    for event in events {
                        if let Event::Rejected { reason, .. } = &event {
                            eprintln!("{} rejected: {reason}", self.name);
                        }
                        if let Event::MessageAdded(message) = event {
                            let n = message
                                .text
                                .rsplit('-')
                                .next()
                                .and_then(|n| n.parse().ok())
                                .unwrap();
                            self.received.push(n);
                        }
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn a_thousand_messages_each_way_through_cuts_and_restarts() {
    let data = tempfile::tempdir().unwrap();
    let mut relay = Relay::start(Settings::ephemeral(data.path().to_path_buf()))
        .await
        .unwrap();
    let addr = relay.local_addr();
    let url = format!("ws://{addr}/ws");
    let store = SqliteStore::open(data.path(), StoreLimits::default()).unwrap();
    for handle in ["alice@x.gouv.fr", "bob@x.gouv.fr"] {
        let hash: [u8; 32] = sha2::Sha256::digest(handle.as_bytes()).into();
        store
            .create_invite(handle.into(), handle.into(), hash, 1, u64::MAX / 2)
            .await
            .unwrap()
            .unwrap();
    }
    let (alice_vault, bob_vault) = (
        Vault::new(MemoryStore::new()),
        Vault::new(MemoryStore::new()),
    );
    for (vault, handle) in [
        (&alice_vault, "alice@x.gouv.fr"),
        (&bob_vault, "bob@x.gouv.fr"),
    ] {
        join(
            vault,
            &NativeTransport,
            &url,
            handle,
            "phrase",
            &suite::FAST,
        )
        .await
        .unwrap();
    }
    let mut alice = Party {
        name: "a",
        peer: "bob@x.gouv.fr",
        vault: &alice_vault,
        messenger: None,
        next: 0,
        received: vec![],
        reconnects: 0,
    };
    let mut bob = Party {
        name: "b",
        peer: "alice@x.gouv.fr",
        vault: &bob_vault,
        messenger: None,
        next: 0,
        received: vec![],
        reconnects: 0,
    };

    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut random = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let (mut cuts, mut restarts) = (0, 0);
    let started = std::time::Instant::now();
    for round in 0.. {
        let done = alice.received.len() >= per_side() && bob.received.len() >= per_side();
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "stuck after {round} rounds"
        );
        if done {
            break;
        }
        if round % 100 == 0 {
            eprintln!(
                "round {round}: alice sent {} got {}, bob sent {} got {}, connected {} {}",
                alice.next,
                alice.received.len(),
                bob.next,
                bob.received.len(),
                alice.messenger.is_some(),
                bob.messenger.is_some()
            );
        }
        for party in [&mut alice, &mut bob] {
            match random(20) {
                0 => {
                    party.messenger = None; // the link is cut
                    cuts += 1;
                }
                _ => {
                    let burst = random(12) as usize;
                    party.send(burst).await;
                }
            }
            party.drain(Duration::from_millis(20)).await;
        }
        if round % 60 == 59 {
            relay.shutdown(Duration::from_secs(2)).await;
            restarts += 1;
            relay = relay_harness::restart(data.path(), addr).await;
        }
    }
    for (party, from) in [(&alice, "bob"), (&bob, "alice")] {
        let mut sorted = party.received.clone();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            party.received.len(),
            "{} got duplicates from {from}",
            party.name
        );
        assert_eq!(
            party.received,
            (0..per_side()).collect::<Vec<_>>(),
            "{} lost or reordered messages from {from}",
            party.name
        );
    }
    eprintln!(
        "2 x {} messages in {:.1} s: {cuts} cuts, {restarts} relay restarts, {} + {} reconnections",
        per_side(),
        started.elapsed().as_secs_f64(),
        alice.reconnects,
        bob.reconnects
    );
}
