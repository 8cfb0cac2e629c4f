//! Opening a session: `Hello`, the challenge, registration with an
//! invitation, authentication, and every way they fail.

use std::sync::Arc;
use std::time::Duration;

use estafette_relay::store::Store;
use estafette_relay::{Entropy, EntropyError, SessionConfig, StoreLimits};
use estafette_testkit::fixtures::{authenticate, hello, member, register};
use estafette_testkit::{Heard, Identity, MEMORY_ORIGIN, MemoryRelay, invite};
use estafette_wire::{ClientFrame, ErrorCode, Hello, ServerFrame};

use super::{relay, relay_with};

#[tokio::test]
async fn hello_is_welcomed_with_a_fresh_challenge_for_the_origin() {
    let relay = relay().await;
    let mut first = hello(&relay).await;
    let mut second = hello(&relay).await;
    let welcome = first.welcome.clone().unwrap();
    assert_eq!(welcome.origin, MEMORY_ORIGIN);
    assert_eq!(welcome.wire_version, estafette_wire::WIRE_VERSION);
    assert!(welcome.software.starts_with("estafette-relay/"));
    assert_ne!(first.challenge(), second.challenge());
    assert_ne!(first.challenge(), [0; 32]);
    // A second Hello is a protocol error.
    first.send(&estafette_testkit::frames::hello("again")).await;
    first.expect_error(ErrorCode::UnexpectedFrame).await;
    // A client speaking another wire version is told so.
    let mut old = relay.connect();
    old.send(&ClientFrame::Hello(Hello {
        wire_version: 99,
        software: "old".into(),
    }))
    .await;
    old.expect_error(ErrorCode::UnsupportedVersion).await;
    // Anything before Hello is a protocol error.
    let mut early = relay.connect();
    early.send(&ClientFrame::Ping(1)).await;
    early.expect_error(ErrorCode::UnexpectedFrame).await;
    second.send(&ClientFrame::Ping(2)).await;
    assert_eq!(second.recv().await, ServerFrame::Pong(2));
}

/// Randomness that is gone.
struct NoEntropy;

impl Entropy for NoEntropy {
    fn fill(&self, _: &mut [u8]) -> Result<(), EntropyError> {
        Err(EntropyError("no entropy in this test".into()))
    }
}

#[tokio::test]
async fn without_randomness_the_relay_closes_instead_of_sending_a_guessable_challenge() {
    let relay = MemoryRelay::start_with(
        SessionConfig::default(),
        StoreLimits::default(),
        Arc::new(NoEntropy),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        let mut client = relay.connect();
        client.send(&estafette_testkit::frames::hello("test")).await;
        match client.recv().await {
            ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::Internal),
            other => panic!("a challenge without randomness: {other:?}"),
        }
        client.expect_closed(ErrorCode::Internal.close_code()).await;
    }
    let metrics = relay.hub.metrics().render();
    assert!(
        metrics.contains(r#"estafette_relay_errors_total{code="internal"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn registration_with_valid_reused_expired_and_unknown_tokens() {
    let relay = relay().await;
    let token = relay
        .invite("alice.martin@interieur.gouv.fr", "Alice Martin")
        .await
        .unwrap();

    let mut alice = Identity::generate().unwrap();
    let (_c, reply) = register(&relay, &mut alice, &token, 5, 5).await;
    let ServerFrame::Authenticated {
        account,
        one_time_prekeys,
        kem_one_time_prekeys,
    } = reply
    else {
        panic!("{reply:?}")
    };
    assert_eq!(account.handle, "alice.martin@interieur.gouv.fr");
    assert_eq!(account.name, "Alice Martin");
    assert_eq!(
        account.account_key,
        alice.account().public_key().to_bytes().to_vec()
    );
    assert_eq!(account.devices, vec![alice.id()]);
    assert_eq!((one_time_prekeys, kem_one_time_prekeys), (5, 5));

    let refused = |code: ErrorCode| move |reply: &ServerFrame| matches!(reply, ServerFrame::Error { code: got, .. } if *got == code);
    // The same token again, for another identity: used.
    let mut mallory = Identity::generate().unwrap();
    let (mut c, reply) = register(&relay, &mut mallory, &token, 1, 1).await;
    assert!(refused(ErrorCode::TokenUsed)(&reply), "{reply:?}");
    c.expect_closed(ErrorCode::TokenUsed.close_code()).await;

    // A token nobody issued.
    let (mut c, reply) = register(
        &relay,
        &mut Identity::generate().unwrap(),
        "not-a-token",
        1,
        1,
    )
    .await;
    assert!(refused(ErrorCode::InvalidToken)(&reply), "{reply:?}");
    c.expect_closed(ErrorCode::InvalidToken.close_code()).await;

    // An expired invitation (written directly in the store, as if 8 days old).
    let hash = sha256(b"old-token");
    relay
        .store
        .create_invite("bob@x.gouv.fr".into(), "Bob".into(), hash, 1, 2)
        .await
        .unwrap()
        .unwrap();
    let (mut c, reply) = register(
        &relay,
        &mut Identity::generate().unwrap(),
        "old-token",
        1,
        1,
    )
    .await;
    assert!(refused(ErrorCode::TokenExpired)(&reply), "{reply:?}");
    c.expect_closed(ErrorCode::TokenExpired.close_code()).await;

    // A second invitation for Alice's handle cannot bind another identity key.
    let again = relay
        .invite("alice.martin@interieur.gouv.fr", "Alice Martin")
        .await
        .unwrap();
    let (mut c, reply) = register(&relay, &mut Identity::generate().unwrap(), &again, 1, 1).await;
    assert!(refused(ErrorCode::HandleTaken)(&reply), "{reply:?}");
    c.expect_closed(ErrorCode::HandleTaken.close_code()).await;

    // The store lists her as registered with one device.
    let accounts = relay.store.list_accounts().await.unwrap();
    let alice = accounts
        .iter()
        .find(|a| a.handle == "alice.martin@interieur.gouv.fr")
        .unwrap();
    assert!(alice.registered && alice.revoked_at_ms.is_none() && alice.devices == 1);
    // Registering needs a signed prekey and a last-resort ML-KEM key.
    let bare = "carol@x.gouv.fr";
    invite(&relay.store, bare, "Carol", "bare-token")
        .await
        .unwrap();
    let mut carol = Identity::generate().unwrap();
    let mut c = hello(&relay).await;
    let answer = carol.answer(c.challenge(), &c.origin());
    let mut prekeys = carol.upload(0, 0).unwrap();
    prekeys.kem_last_resort = None;
    c.send(&ClientFrame::Register(Box::new(estafette_wire::Register {
        token: "bare-token".into(),
        answer,
        prekeys,
    })))
    .await;
    c.expect_error(ErrorCode::InvalidPreKeys).await;
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

#[tokio::test]
async fn every_authentication_failure_has_its_own_code() {
    let relay = relay().await;
    let (alice, mut alice_conn) = member(&relay, "alice@x.gouv.fr", "Alice", 1).await;
    alice_conn.send(&ClientFrame::Ping(1)).await;
    assert_eq!(alice_conn.recv_skipping_low().await, ServerFrame::Pong(1));

    // Unknown device: valid signature, never registered.
    let (mut c, reply) = authenticate(&relay, &Identity::generate().unwrap()).await;
    assert!(
        matches!(
            reply,
            ServerFrame::Error {
                code: ErrorCode::UnknownDevice,
                ..
            }
        ),
        "{reply:?}"
    );
    c.expect_closed(ErrorCode::UnknownDevice.close_code()).await;

    // Bad signature: signed for another relay's origin.
    let mut c = hello(&relay).await;
    c.send(&ClientFrame::Authenticate(
        alice.answer(c.challenge(), "wss://evil.example"),
    ))
    .await;
    c.expect_error(ErrorCode::BadSignature).await;

    // Replayed: the answer another connection already used.
    let mut first = hello(&relay).await;
    let answer = alice.answer(first.challenge(), &first.origin());
    first.send(&ClientFrame::Authenticate(answer.clone())).await;
    assert!(matches!(
        first.recv().await,
        ServerFrame::Authenticated { .. }
    ));
    let mut replay = hello(&relay).await;
    replay.send(&ClientFrame::Authenticate(answer)).await;
    replay.expect_error(ErrorCode::ChallengeReplayed).await;

    // Stale: a challenge this relay never issued (or long forgotten).
    let mut c = hello(&relay).await;
    c.send(&ClientFrame::Authenticate(
        alice.answer([42; 32], &c.origin()),
    ))
    .await;
    c.expect_error(ErrorCode::StaleChallenge).await;

    // The newest connection of a device replaces the older one.
    alice_conn.expect_error(ErrorCode::Replaced).await;

    // Revoked.
    relay
        .store
        .revoke("alice@x.gouv.fr".into(), estafette_testkit::now_ms())
        .await
        .unwrap();
    let (mut c, reply) = authenticate(&relay, &alice).await;
    assert!(
        matches!(
            reply,
            ServerFrame::Error {
                code: ErrorCode::AccountRevoked,
                ..
            }
        ),
        "{reply:?}"
    );
    c.expect_closed(ErrorCode::AccountRevoked.close_code())
        .await;
    // And the connection it had open hears it within a second.
    let closed = loop {
        match first.heard(Duration::from_secs(5)).await {
            Heard::Frame(_) => continue,
            Heard::Closed(code) => break code,
        }
    };
    assert_eq!(closed, Some(ErrorCode::AccountRevoked.close_code()));
}

#[tokio::test]
async fn frames_before_authentication_are_refused_and_silence_times_out() {
    let config = SessionConfig {
        auth_timeout: Duration::from_millis(500),
        ..SessionConfig::default()
    };
    let relay = relay_with(config, StoreLimits::default()).await;
    let mut c = hello(&relay).await;
    for request in [
        ClientFrame::Lookup {
            request: 1,
            handle: "a@x.gouv.fr".into(),
        },
        ClientFrame::Search {
            request: 2,
            query: "al".into(),
        },
        ClientFrame::FetchBundles {
            request: 3,
            handle: "a@x.gouv.fr".into(),
        },
    ] {
        c.send(&request).await;
        match c.recv().await {
            ServerFrame::Error {
                code: ErrorCode::NotAuthenticated,
                request: Some(_),
                ..
            } => {}
            other => panic!("{other:?}"),
        }
    }
    c.send(&ClientFrame::Ack(1)).await;
    c.expect_error(ErrorCode::NotAuthenticated).await;
    c.send(&ClientFrame::Ping(4)).await;
    assert_eq!(c.recv().await, ServerFrame::Pong(4));
    // No answer to the challenge in time.
    match c.heard(Duration::from_secs(5)).await {
        Heard::Frame(ServerFrame::Error { code, .. }) => assert_eq!(code, ErrorCode::AuthTimeout),
        other => panic!("{other:?}"),
    }
    c.expect_closed(ErrorCode::AuthTimeout.close_code()).await;
}
