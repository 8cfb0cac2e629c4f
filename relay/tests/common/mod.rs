//! The relay binary for the tests that need a real process (`kill -9`, the
//! admin commands, sockets, memory), and its crash-safety routine.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use estafette_testkit::ws::WsLink;
use estafette_testkit::{Client, Heard, RelayProcess, frames};
use estafette_wire::{ClientFrame, ServerFrame};

pub const BIN: &str = env!("CARGO_BIN_EXE_estafette-relay");

/// The relay binary on a fresh data directory, with `serve` arguments `args`.
pub fn relay(args: &[&str]) -> (tempfile::TempDir, RelayProcess) {
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let relay = RelayProcess::start(Path::new(BIN), dir.path(), &args, None).unwrap();
    (dir, relay)
}

/// Runs an admin command on the relay's data; its stdout.
pub fn admin(relay: &RelayProcess, args: &[&str]) -> String {
    relay.admin(args).unwrap()
}

/// Sends the frames `frame(0)`, `frame(1)`… pipelined 32 deep, kills the relay
/// (`kill -9`) 1.5 s later and restarts it; the numbers it answered `Accepted`
/// for before dying (the number is the first 4 bytes of the idempotency id,
/// see [`frames::numbered_id`]).
pub async fn kill9_while_sending(
    relay: &mut RelayProcess,
    client: Client<WsLink>,
    frame: impl Fn(u32) -> ClientFrame + std::marker::Send + 'static,
) -> BTreeSet<u32> {
    let sender = tokio::spawn(async move {
        let mut client = client;
        let mut accepted = BTreeSet::new();
        let mut next: u32 = 0;
        let mut outstanding = 0;
        loop {
            while outstanding < 32 {
                if client.try_send(&frame(next)).await.is_err() {
                    return accepted;
                }
                next += 1;
                outstanding += 1;
            }
            match client.hear(Duration::from_secs(10)).await.unwrap() {
                Heard::Frame(ServerFrame::Accepted(id)) => {
                    accepted.insert(frames::number_of(&id).unwrap());
                    outstanding -= 1;
                }
                Heard::Frame(ServerFrame::PreKeysLow { .. }) => {}
                Heard::Frame(other) => panic!("{other:?}"),
                Heard::Closed(_) => return accepted,
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    relay.kill9_and_restart().unwrap();
    let accepted = sender.await.unwrap();
    assert!(
        accepted.len() > 100,
        "only {} accepted before the crash",
        accepted.len()
    );
    accepted
}

/// Acknowledges deliveries (whose payload starts with a number) until every
/// number of `accepted` came; the numbers delivered.
pub async fn receive_all(client: &mut Client<WsLink>, accepted: &BTreeSet<u32>) -> BTreeSet<u32> {
    let mut delivered = BTreeSet::new();
    while !accepted.is_subset(&delivered) {
        match client.heard(Duration::from_secs(3)).await {
            Heard::Frame(ServerFrame::Deliver(d)) => {
                delivered.insert(frames::number_of(&d.payload).unwrap());
                client.send(&ClientFrame::Ack(d.delivery_id)).await;
            }
            Heard::Frame(ServerFrame::PreKeysLow { .. }) => {}
            other => panic!(
                "{other:?} with {} of {} delivered",
                accepted.intersection(&delivered).count(),
                accepted.len()
            ),
        }
    }
    delivered
}
