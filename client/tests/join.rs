//! Joining, unlocking, locking, changing the passphrase and erasing, against
//! the real relay (in process, port 0).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod suite;

use estafette_client::store::{MemoryStore, StoreError, Table, Vault};
use estafette_client::transport::NativeTransport;
use estafette_client::{JoinError, join, unlock};
use estafette_relay::store::Store;
use estafette_relay::{Relay, Settings, SqliteStore, StoreLimits};
use estafette_wire::ErrorCode;
use sha2::Digest;

struct TestRelay {
    relay: Relay,
    data: tempfile::TempDir,
}

impl TestRelay {
    async fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let relay = Relay::start(Settings::ephemeral(data.path().to_path_buf()))
            .await
            .unwrap();
        Self { relay, data }
    }

    fn url(&self) -> String {
        format!("ws://{}/ws", self.relay.local_addr())
    }

    async fn invite(&self, handle: &str, name: &str, token: &str, expires_in_ms: i64) {
        let store = SqliteStore::open(self.data.path(), StoreLimits::default()).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let expires = now.saturating_add_signed(expires_in_ms);
        let hash: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        store
            .create_invite(
                handle.into(),
                name.into(),
                hash,
                now.saturating_sub(10),
                expires,
            )
            .await
            .unwrap()
            .unwrap();
    }
}

#[tokio::test]
async fn join_unlock_lock_change_passphrase_erase() {
    let relay = TestRelay::start().await;
    relay
        .invite(
            "alice@interieur.gouv.fr",
            "Alice Martin",
            "tok-alice",
            60_000,
        )
        .await;
    let vault = Vault::new(MemoryStore::new());

    let identity = join(
        &vault,
        &NativeTransport,
        &relay.url(),
        "tok-alice",
        "phrase de passe",
        &suite::FAST,
    )
    .await
    .unwrap();
    assert_eq!(identity.profile.handle, "alice@interieur.gouv.fr");
    assert_eq!(identity.profile.name, "Alice Martin");
    let aik = identity.account.public_key();
    drop(identity);

    // The relay knows the device; the browser holds only sealed records.
    let info = relay.relay_directory("alice@interieur.gouv.fr").await;
    assert_eq!(info.account_key, aik.to_bytes().to_vec());
    assert!(vault.raw().len() >= 5);

    // A reload: locked, then unlocked with the passphrase.
    vault.lock();
    assert_eq!(
        vault.get(Table::Account, b"account").await.err(),
        Some(StoreError::Locked)
    );
    assert!(unlock(&vault, "mauvaise phrase").await.is_err());
    let again = unlock(&vault, "phrase de passe").await.unwrap();
    assert_eq!(again.account.public_key(), aik);
    assert_eq!(again.profile.relay_url, relay.url());

    // A new passphrase; the old one stops working.
    vault
        .change_passphrase("phrase de passe", "nouvelle phrase", &suite::FAST)
        .await
        .unwrap();
    vault.lock();
    assert!(unlock(&vault, "phrase de passe").await.is_err());
    assert_eq!(
        unlock(&vault, "nouvelle phrase")
            .await
            .unwrap()
            .account
            .public_key(),
        aik
    );

    // Joining twice in the same store is refused; erase leaves nothing.
    relay
        .invite(
            "alice@interieur.gouv.fr",
            "Alice Martin",
            "tok-again",
            60_000,
        )
        .await;
    let twice = join(
        &vault,
        &NativeTransport,
        &relay.url(),
        "tok-again",
        "x",
        &suite::FAST,
    )
    .await;
    assert_eq!(twice.err(), Some(JoinError::AlreadyJoined));
    vault.erase().await.unwrap();
    assert!(vault.raw().is_empty());
}

#[tokio::test]
async fn a_refused_invitation_leaves_nothing_and_says_why() {
    let relay = TestRelay::start().await;
    relay
        .invite("bob@x.gouv.fr", "Bob", "tok-bob", 60_000)
        .await;
    relay
        .invite("carol@x.gouv.fr", "Carol", "tok-old", -1_000)
        .await;
    let used = Vault::new(MemoryStore::new());
    join(
        &used,
        &NativeTransport,
        &relay.url(),
        "tok-bob",
        "p",
        &suite::FAST,
    )
    .await
    .unwrap();

    for (token, code) in [
        ("tok-bob", ErrorCode::TokenUsed),
        ("tok-old", ErrorCode::TokenExpired),
        ("nope", ErrorCode::InvalidToken),
    ] {
        let vault = Vault::new(MemoryStore::new());
        let error = join(
            &vault,
            &NativeTransport,
            &relay.url(),
            token,
            "p",
            &suite::FAST,
        )
        .await
        .err()
        .unwrap();
        assert_eq!(error, JoinError::Refused(code));
        assert!(vault.raw().is_empty(), "a failed join left records");
        let message = error.user_message();
        assert!(
            message.fr.contains("invitation") && message.en.contains("invitation"),
            "{message:?}"
        );
    }

    // An unreachable relay: a clear, distinct message.
    let vault = Vault::new(MemoryStore::new());
    let error = join(
        &vault,
        &NativeTransport,
        "ws://127.0.0.1:9/ws",
        "t",
        "p",
        &suite::FAST,
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(error, JoinError::Link(_)), "{error:?}");
    assert!(error.user_message().fr.contains("injoignable"));
    assert!(vault.raw().is_empty());
}

trait Directory {
    async fn relay_directory(&self, handle: &str) -> estafette_wire::AccountInfo;
}

impl Directory for TestRelay {
    async fn relay_directory(&self, handle: &str) -> estafette_wire::AccountInfo {
        let store = SqliteStore::open(self.data.path(), StoreLimits::default()).unwrap();
        store.account(handle.into()).await.unwrap().unwrap()
    }
}
