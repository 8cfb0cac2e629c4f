//! The engine as the UI drives it: two accounts, each engine in its own task,
//! over the real relay (in process): conversation from the directory, text,
//! delivered and read receipts, typing, unread counts, search, and messages
//! written while the relay is down that leave when it comes back.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod relay_harness;
mod suite;

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use estafette_client::ConnectionState;
use estafette_client::engine::{Command, Event, NativeRuntime, run};
use estafette_client::messenger::DeliveryState;
use estafette_client::store::{MemoryStore, Vault};
use estafette_client::transport::NativeTransport;
use estafette_relay::{Relay, Settings};
use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};

const ALICE: &str = "alice.martin@x.gouv.fr";
const BOB: &str = "bob.durand@x.gouv.fr";

/// One account's engine, running in a local task, and what it reported.
struct Client {
    commands: UnboundedSender<Command>,
    events: UnboundedReceiver<Event>,
    seen: Vec<Event>,
}

impl Client {
    async fn start(addr: SocketAddr, data: &std::path::Path, handle: &str, name: &str) -> Self {
        let vault = Rc::new(Vault::new(MemoryStore::new()));
        let identity = relay_harness::join_and_unlock(&vault, addr, data, handle, name).await;
        let (commands, receiver) = unbounded();
        let (sender, events) = unbounded();
        tokio::task::spawn_local(async move {
            let emit = move |event: Event| {
                let _ = sender.unbounded_send(event);
            };
            run(
                &vault,
                identity,
                &NativeTransport,
                &NativeRuntime,
                receiver,
                &emit,
            )
            .await;
        });
        Self {
            commands,
            events,
            seen: Vec::new(),
        }
    }

    fn command(&self, command: Command) {
        self.commands.unbounded_send(command).unwrap();
    }

    /// Waits (10 s at most) for an event matching `want`; keeps all events seen.
    async fn expect(&mut self, what: &str, want: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.next())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; seen {:#?}", self.seen))
                .expect("the engine stopped");
            self.seen.push(event.clone());
            if want(&event) {
                return event;
            }
        }
    }
}

fn state_of(event: &Event, text: &str, state: DeliveryState) -> bool {
    matches!(event, Event::MessageUpdated(m) if m.text == text && m.state == state)
}

#[tokio::test]
async fn receipts_typing_unread_and_search_between_two_engines() {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let data = tempfile::tempdir().unwrap();
            let relay = Relay::start(Settings::ephemeral(data.path().to_path_buf()))
                .await
                .unwrap();
            let addr = relay.local_addr();
            let mut alice = Client::start(addr, data.path(), ALICE, "Alice Martin").await;
            let mut bob = Client::start(addr, data.path(), BOB, "Bob Durand").await;
            for client in [&mut alice, &mut bob] {
                client
                    .expect("connected", |e| {
                        *e == Event::Connection(ConnectionState::Connected)
                    })
                    .await;
            }

            alice.command(Command::Search { query: "bob".into() });
            let Event::SearchResults { accounts, .. } = alice
                .expect("search results", |e| matches!(e, Event::SearchResults { .. }))
                .await
            else {
                unreachable!()
            };
            assert_eq!(accounts.len(), 1);
            assert_eq!((accounts[0].handle.as_str(), accounts[0].name.as_str()), (BOB, "Bob Durand"));

            alice.command(Command::StartConversation { handle: BOB.into() });
            alice
                .expect("conversation", |e| {
                    matches!(e, Event::ConversationUpdated(c) if c.handle == BOB && c.name == "Bob Durand" && c.unread == 0)
                })
                .await;

            alice.command(Command::SendText {
                conversation: BOB.into(),
                text: "Bonjour Bob".into(),
            });
            alice
                .expect("own message added as sending", |e| {
                    matches!(e, Event::MessageAdded(m) if m.text == "Bonjour Bob" && m.state == DeliveryState::Sending)
                })
                .await;
            alice
                .expect("sent", |e| state_of(e, "Bonjour Bob", DeliveryState::Sent))
                .await;

            bob.expect("message received", |e| {
                matches!(e, Event::MessageAdded(m) if m.text == "Bonjour Bob" && m.sender == ALICE && m.state == DeliveryState::Received)
            })
            .await;
            bob.expect("one unread", |e| {
                matches!(e, Event::ConversationUpdated(c) if c.handle == ALICE && c.unread == 1 && c.last_text == "Bonjour Bob")
            })
            .await;
            alice
                .expect("delivered", |e| state_of(e, "Bonjour Bob", DeliveryState::Delivered))
                .await;

            bob.command(Command::MarkRead {
                conversation: ALICE.into(),
            });
            bob.expect("read, no unread", |e| {
                matches!(e, Event::ConversationUpdated(c) if c.handle == ALICE && c.unread == 0)
            })
            .await;
            alice
                .expect("read", |e| state_of(e, "Bonjour Bob", DeliveryState::Read))
                .await;

            bob.command(Command::Typing {
                conversation: ALICE.into(),
                typing: true,
            });
            alice
                .expect("typing", |e| {
                    *e == Event::Typing {
                        conversation: BOB.into(),
                        typing: true,
                    }
                })
                .await;

            // Three messages in a burst: one unread count of 3, all delivered.
            for i in 0..3 {
                alice.command(Command::SendText {
                    conversation: BOB.into(),
                    text: format!("rafale {i}"),
                });
            }
            bob.expect("three unread", |e| {
                matches!(e, Event::ConversationUpdated(c) if c.unread == 3)
            })
            .await;
            alice
                .expect("burst delivered", |e| state_of(e, "rafale 2", DeliveryState::Delivered))
                .await;

            // An unknown handle gets a message for the user, not a silent failure.
            alice.command(Command::StartConversation {
                handle: "personne@x.gouv.fr".into(),
            });
            let Event::Failed(message) = alice
                .expect("failure", |e| matches!(e, Event::Failed(_)))
                .await
            else {
                unreachable!()
            };
            assert!(message.fr.contains("Aucun compte"), "{}", message.fr);

            alice.command(Command::RefreshDevices);
            let Event::OwnDevices(devices) = alice
                .expect("devices", |e| matches!(e, Event::OwnDevices(_)))
                .await
            else {
                unreachable!()
            };
            assert_eq!(devices.len(), 1);
            assert!(devices[0].this_device);

            // Nothing was rejected on either side.
            for client in [&alice, &bob] {
                assert!(
                    !client.seen.iter().any(|e| matches!(e, Event::Rejected { .. } | Event::Stopped(_))),
                    "{:#?}",
                    client.seen
                );
            }
            relay.shutdown(Duration::from_secs(1)).await;
        })
        .await;
}

#[tokio::test]
async fn messages_written_while_the_relay_is_down_leave_when_it_returns() {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let data = tempfile::tempdir().unwrap();
            let relay = Relay::start(Settings::ephemeral(data.path().to_path_buf()))
                .await
                .unwrap();
            let addr = relay.local_addr();
            let mut alice = Client::start(addr, data.path(), ALICE, "Alice Martin").await;
            let mut bob = Client::start(addr, data.path(), BOB, "Bob Durand").await;
            alice.expect("connected", |e| *e == Event::Connection(ConnectionState::Connected)).await;
            alice.command(Command::StartConversation { handle: BOB.into() });
            alice.expect("conversation", |e| matches!(e, Event::ConversationUpdated(_))).await;

            relay.shutdown(Duration::from_secs(1)).await;
            alice
                .expect("reconnecting", |e| {
                    matches!(e, Event::Connection(ConnectionState::Reconnecting { .. }))
                })
                .await;
            for i in 0..5 {
                alice.command(Command::SendText {
                    conversation: BOB.into(),
                    text: format!("hors ligne {i}"),
                });
                alice
                    .expect("stored while offline", |e| {
                        matches!(e, Event::MessageAdded(m) if m.text == format!("hors ligne {i}") && m.state == DeliveryState::Sending)
                    })
                    .await;
            }
            let relay = relay_harness::restart(data.path(), addr).await;
            alice.expect("back", |e| *e == Event::Connection(ConnectionState::Connected)).await;
            alice
                .expect("last one sent", |e| state_of(e, "hors ligne 4", DeliveryState::Sent))
                .await;
            let mut got = Vec::new();
            while got.len() < 5 {
                if let Event::MessageAdded(m) = bob.expect("offline message", |e| matches!(e, Event::MessageAdded(_))).await {
                    got.push(m.text);
                }
            }
            assert_eq!(got, (0..5).map(|i| format!("hors ligne {i}")).collect::<Vec<_>>());
            relay.shutdown(Duration::from_secs(1)).await;
        })
        .await;
}

#[tokio::test]
async fn an_outbox_stopped_by_the_bundle_budget_leaves_later_by_itself() {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let data = tempfile::tempdir().unwrap();
            let mut settings = Settings::ephemeral(data.path().to_path_buf());
            // One fetch at once, then one every 4 s: the second new session waits.
            settings.session.bundle_burst = std::num::NonZeroU32::new(1).unwrap();
            settings.session.bundles_per_minute = std::num::NonZeroU32::new(15).unwrap();
            let relay = Relay::start(settings).await.unwrap();
            let addr = relay.local_addr();
            const CAROL: &str = "carol.petit@x.gouv.fr";
            let mut alice = Client::start(addr, data.path(), ALICE, "Alice Martin").await;
            let mut bob = Client::start(addr, data.path(), BOB, "Bob Durand").await;
            let mut carol = Client::start(addr, data.path(), CAROL, "Carol Petit").await;
            alice
                .expect("connected", |e| {
                    *e == Event::Connection(ConnectionState::Connected)
                })
                .await;
            for handle in [BOB, CAROL] {
                alice.command(Command::StartConversation {
                    handle: handle.into(),
                });
                alice
                    .expect(
                        "conversation",
                        |e| matches!(e, Event::ConversationUpdated(c) if c.handle == handle),
                    )
                    .await;
            }
            for (to, text) in [(BOB, "pour Bob"), (CAROL, "pour Carol")] {
                alice.command(Command::SendText {
                    conversation: to.into(),
                    text: text.into(),
                });
            }
            alice
                .expect("Bob's sent", |e| {
                    state_of(e, "pour Bob", DeliveryState::Sent)
                })
                .await;
            alice
                .expect("the budget spent", |e| matches!(e, Event::Failed(_)))
                .await;
            assert!(
                !alice
                    .seen
                    .iter()
                    .any(|e| state_of(e, "pour Carol", DeliveryState::Sent)),
                "Carol's message left before the budget refilled"
            );
            // No command, no reconnection: the engine tries again by itself.
            alice
                .expect("Carol's sent", |e| {
                    state_of(e, "pour Carol", DeliveryState::Sent)
                })
                .await;
            assert!(
                !alice
                    .seen
                    .iter()
                    .any(|e| matches!(e, Event::Connection(ConnectionState::Reconnecting { .. }))),
                "the engine reconnected instead of waiting"
            );
            for (client, text) in [(&mut bob, "pour Bob"), (&mut carol, "pour Carol")] {
                client
                    .expect(
                        text,
                        |e| matches!(e, Event::MessageAdded(m) if m.text == text),
                    )
                    .await;
            }
            relay.shutdown(Duration::from_secs(1)).await;
        })
        .await;
}
