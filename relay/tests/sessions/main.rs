//! The relay's sessions driven over in-memory channels (axum
//! `examples/testing-websockets`): the protocol as a client sees it,
//! without sockets or processes. `tests/process.rs` keeps what needs the
//! real binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod directory;
mod groups;
mod messages;
mod sign_in;

use std::time::{Duration, Instant};

use estafette_relay::store::Store;
use estafette_relay::{OsEntropy, SessionConfig, StoreLimits};
use estafette_testkit::{ChannelLink, Client, MemoryRelay};
use estafette_wire::{Delivery, ServerFrame};

/// A fresh relay in memory, default settings.
async fn relay() -> MemoryRelay {
    MemoryRelay::start().await.unwrap()
}

/// A fresh relay in memory with these settings.
async fn relay_with(config: SessionConfig, limits: StoreLimits) -> MemoryRelay {
    MemoryRelay::start_with(config, limits, std::sync::Arc::new(OsEntropy))
        .await
        .unwrap()
}

type Conn = Client<ChannelLink>;

/// The next delivery (passing `PreKeysLow`).
async fn delivery(client: &mut Conn) -> Delivery {
    match client.recv_skipping_low().await {
        ServerFrame::Deliver(delivery) => delivery,
        other => panic!("expected a delivery, got {other:?}"),
    }
}

/// Waits until the store holds `expected` payloads (acks are committed
/// shortly after they are read).
async fn wait_for_payloads(store: &dyn Store, expected: u64) {
    let start = Instant::now();
    loop {
        let now = store.payloads_total().await.unwrap();
        if now == expected {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{now} payloads stored, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
