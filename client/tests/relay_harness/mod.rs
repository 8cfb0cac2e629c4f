//! The real relay in process, for native tests: invitations written straight
//! into its store, and a restart on the same address.
#![allow(clippy::unwrap_used, clippy::panic, dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use estafette_client::store::{MemoryStore, Vault};
use estafette_client::transport::NativeTransport;
use estafette_client::{Identity, join, unlock};
use estafette_relay::store::Store;
use estafette_relay::{Relay, Settings, SqliteStore, StoreLimits};
use sha2::Digest;

/// Invites `handle` (display name `name`) with `token`, valid one minute.
pub async fn invite(data: &std::path::Path, handle: &str, name: &str, token: &str) {
    let store = SqliteStore::open(data, StoreLimits::default()).unwrap();
    let hash: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    store
        .create_invite(handle.into(), name.into(), hash, now, now + 60_000)
        .await
        .unwrap()
        .unwrap();
}

/// Invites `handle`, joins with passphrase "phrase" into `vault`, then locks
/// and unlocks it as a returning user would.
pub async fn join_and_unlock(
    vault: &Vault<MemoryStore>,
    addr: SocketAddr,
    data: &std::path::Path,
    handle: &str,
    name: &str,
) -> Identity {
    invite(data, handle, name, handle).await;
    let url = format!("ws://{addr}/ws");
    join(
        vault,
        &NativeTransport,
        &url,
        handle,
        "phrase",
        &super::suite::FAST,
    )
    .await
    .unwrap();
    vault.lock();
    unlock(vault, "phrase").await.unwrap()
}

/// Starts the relay again on `addr` (the port may take a moment to free).
pub async fn restart(data: &std::path::Path, addr: SocketAddr) -> Relay {
    let mut settings = Settings::ephemeral(data.to_path_buf());
    settings.listen = addr;
    for _ in 0..50 {
        if let Ok(relay) = Relay::start(settings.clone()).await {
            return relay;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the relay did not restart on {addr}");
}
