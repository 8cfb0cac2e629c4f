//! Relay v1 against the real binary: registration, authentication, prekeys,
//! sends, delivery, limits, revocation, crash safety, malformed input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use estafette_crypto::PreKeyBundle;
use estafette_relay::store::Store;
use estafette_relay::{SqliteStore, StoreLimits};
use estafette_wire::*;

#[tokio::test]
async fn registration_with_valid_reused_expired_and_unknown_tokens() {
    let (_dir, relay) = relay(&[]);
    let token = relay.invite("alice.martin@interieur.gouv.fr", "Alice Martin");

    let mut alice = Identity::new();
    let (_c, reply) = Client::register(relay.addr, &mut alice, &token, 5, 5).await;
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
        alice.account.public_key().to_bytes().to_vec()
    );
    assert_eq!(account.devices, vec![alice.id()]);
    assert_eq!((one_time_prekeys, kem_one_time_prekeys), (5, 5));

    // The same token again, for another identity: used.
    let mut mallory = Identity::new();
    let (mut c, reply) = Client::register(relay.addr, &mut mallory, &token, 1, 1).await;
    assert!(
        matches!(
            reply,
            ServerFrame::Error {
                code: ErrorCode::TokenUsed,
                ..
            }
        ),
        "{reply:?}"
    );
    c.expect_closed(ErrorCode::TokenUsed.close_code()).await;

    // A token nobody issued.
    let (mut c, reply) =
        Client::register(relay.addr, &mut Identity::new(), "not-a-token", 1, 1).await;
    assert!(
        matches!(
            reply,
            ServerFrame::Error {
                code: ErrorCode::InvalidToken,
                ..
            }
        ),
        "{reply:?}"
    );
    c.expect_closed(ErrorCode::InvalidToken.close_code()).await;

    // An expired invitation (written directly in the store, as if 8 days old).
    let store = SqliteStore::open(&relay.data, StoreLimits::default()).unwrap();
    let hash: [u8; 32] = sha2_digest(b"old-token");
    store
        .create_invite("bob@x.gouv.fr".into(), "Bob".into(), hash, 1, 2)
        .await
        .unwrap()
        .unwrap();
    let (mut c, reply) =
        Client::register(relay.addr, &mut Identity::new(), "old-token", 1, 1).await;
    assert!(
        matches!(
            reply,
            ServerFrame::Error {
                code: ErrorCode::TokenExpired,
                ..
            }
        ),
        "{reply:?}"
    );
    c.expect_closed(ErrorCode::TokenExpired.close_code()).await;

    // A second invitation for Alice's handle cannot bind another identity key.
    let again = relay.invite("alice.martin@interieur.gouv.fr", "Alice Martin");
    let (mut c, reply) = Client::register(relay.addr, &mut Identity::new(), &again, 1, 1).await;
    assert!(
        matches!(
            reply,
            ServerFrame::Error {
                code: ErrorCode::HandleTaken,
                ..
            }
        ),
        "{reply:?}"
    );
    c.expect_closed(ErrorCode::HandleTaken.close_code()).await;

    // The CLI lists her as active with one device.
    let list = admin(&relay.data, &["list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("alice.martin@interieur.gouv.fr") && l.contains("active")),
        "{list}"
    );
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

#[tokio::test]
async fn every_authentication_failure_has_its_own_code() {
    let (_dir, relay) = relay(&[]);
    let (alice, mut alice_conn) = member(&relay, "alice@x.gouv.fr", "Alice", 1).await;
    alice_conn.send(&ClientFrame::Ping(1)).await;
    assert_eq!(alice_conn.recv_skipping_low().await, ServerFrame::Pong(1));

    // Unknown device: valid signature, never registered.
    let (mut c, reply) = Client::authenticate(relay.addr, &Identity::new()).await;
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
    let mut c = Client::hello(relay.addr).await;
    c.send(&ClientFrame::Authenticate(
        alice.answer(c.challenge(), "wss://evil.example"),
    ))
    .await;
    c.expect_error(ErrorCode::BadSignature).await;

    // Replayed: the answer another connection already used.
    let mut first = Client::hello(relay.addr).await;
    let answer = alice.answer(first.challenge(), &first.origin());
    first.send(&ClientFrame::Authenticate(answer.clone())).await;
    assert!(matches!(
        first.recv().await,
        ServerFrame::Authenticated { .. }
    ));
    let mut replay = Client::hello(relay.addr).await;
    replay.send(&ClientFrame::Authenticate(answer)).await;
    replay.expect_error(ErrorCode::ChallengeReplayed).await;

    // Stale: a challenge this relay never issued (or long forgotten).
    let mut c = Client::hello(relay.addr).await;
    c.send(&ClientFrame::Authenticate(
        alice.answer([42; 32], &c.origin()),
    ))
    .await;
    c.expect_error(ErrorCode::StaleChallenge).await;

    // The newest connection of a device replaces the older one.
    alice_conn.expect_error(ErrorCode::Replaced).await;

    // Revoked.
    admin(&relay.data, &["revoke", "--handle", "alice@x.gouv.fr"]);
    let (mut c, reply) = Client::authenticate(relay.addr, &alice).await;
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

    // No answer at all within 10 s.
    let mut c = Client::hello(relay.addr).await;
    match c.hear(Duration::from_secs(15)).await {
        Heard::Frame(ServerFrame::Error { code, .. }) => assert_eq!(code, ErrorCode::AuthTimeout),
        other => panic!("{other:?}"),
    }
    c.expect_closed(ErrorCode::AuthTimeout.close_code()).await;
}

#[tokio::test]
async fn revocation_closes_live_sockets_and_drops_queues() {
    let (_dir, relay) = relay(&[]);
    let (_alice, mut alice) = member(&relay, "alice@x.gouv.fr", "Alice", 1).await;
    let (bob_id, mut bob) = member(&relay, "bob@x.gouv.fr", "Bob", 1).await;
    // Bob is offline-ish: a copy waits for him. Then he is revoked.
    alice
        .send(&send_to("bob@x.gouv.fr", bob_id.id(), 1, b"secret"))
        .await;
    assert_eq!(
        alice.recv_skipping_low().await,
        ServerFrame::Accepted([1; 16])
    );
    let out = admin(&relay.data, &["revoke", "--handle", "bob@x.gouv.fr"]);
    assert!(out.contains("1 device"), "{out}");
    // Whatever Bob received before, his socket closes with the revocation code.
    let closed = loop {
        match bob.hear(Duration::from_secs(5)).await {
            Heard::Frame(ServerFrame::Error {
                code: ErrorCode::AccountRevoked,
                ..
            }) => continue,
            Heard::Frame(_) => continue,
            Heard::Closed(code) => break code,
        }
    };
    assert_eq!(closed, Some(ErrorCode::AccountRevoked.close_code()));
    let devices = admin(&relay.data, &["devices", "--handle", "bob@x.gouv.fr"]);
    let row = devices.lines().nth(1).unwrap();
    assert!(
        row.split_whitespace().skip(2).all(|n| n == "0"),
        "queue and prekeys left: {row}"
    );
    // Bob's handle is no longer in the directory.
    alice
        .send(&ClientFrame::Lookup {
            request: 9,
            handle: "bob@x.gouv.fr".into(),
        })
        .await;
    assert!(matches!(
        alice.recv_skipping_low().await,
        ServerFrame::Error {
            code: ErrorCode::NotFound,
            request: Some(9),
            ..
        }
    ));
}

#[tokio::test]
async fn prekeys_are_consumed_once_then_fall_back_and_the_owner_is_told() {
    let (_dir, relay) = relay(&[]);
    let (bob, mut bob_conn) = member(&relay, "bob@x.gouv.fr", "Bob", 2).await;
    // Bob starts with 2 of each: below the low mark, he is told at once.
    assert_eq!(
        bob_conn.recv().await,
        ServerFrame::PreKeysLow {
            one_time_prekeys: 2,
            kem_one_time_prekeys: 2
        }
    );
    let (_alice, mut alice) = member(&relay, "alice@x.gouv.fr", "Alice", 30).await;

    let mut seen_opk = BTreeSet::new();
    let mut kem_kinds = Vec::new();
    for round in 0..3u32 {
        alice
            .send(&ClientFrame::FetchBundles {
                request: round,
                handle: "bob@x.gouv.fr".into(),
            })
            .await;
        let ServerFrame::Bundles {
            request,
            account,
            bundles,
        } = alice.recv_skipping_low().await
        else {
            panic!()
        };
        assert_eq!((request, bundles.len()), (round, 1));
        let b = &bundles[0];
        // The bundle verifies against Bob's identity key with estafette-crypto.
        let bytes = to_crypto_bundle(b);
        PreKeyBundle::decode(&bytes)
            .unwrap()
            .verify(&bob.account.public_key())
            .unwrap();
        assert_eq!(
            account.account_key,
            bob.account.public_key().to_bytes().to_vec()
        );
        if let Some(opk) = &b.one_time {
            assert!(
                seen_opk.insert(opk.id),
                "one-time prekey {} handed out twice",
                opk.id
            );
        }
        kem_kinds.push(b.kem_one_time);
        // Each fetch tells Bob his stock.
        assert!(matches!(
            bob_conn.recv().await,
            ServerFrame::PreKeysLow { .. }
        ));
    }
    assert_eq!(seen_opk.len(), 2, "two one-time prekeys, then none");
    assert_eq!(
        kem_kinds,
        [true, true, false],
        "one-time ML-KEM keys, then the last-resort key"
    );

    // Refill, within the cap; over the cap is refused and stores nothing.
    let mut bob = bob;
    let upload = bob.upload(100, 0);
    bob_conn
        .send(&ClientFrame::UploadPreKeys {
            request: 7,
            prekeys: Box::new(upload),
        })
        .await;
    assert_eq!(
        bob_conn.recv().await,
        ServerFrame::PreKeysStored {
            request: 7,
            one_time_prekeys: 100,
            kem_one_time_prekeys: 0
        }
    );
    let more = bob.upload(100, 0);
    bob_conn
        .send(&ClientFrame::UploadPreKeys {
            request: 8,
            prekeys: Box::new(more),
        })
        .await;
    assert!(matches!(
        bob_conn.recv().await,
        ServerFrame::PreKeysStored {
            one_time_prekeys: 200,
            ..
        }
    ));
    let over = bob.upload(1, 0);
    bob_conn
        .send(&ClientFrame::UploadPreKeys {
            request: 9,
            prekeys: Box::new(over),
        })
        .await;
    assert!(matches!(
        bob_conn.recv().await,
        ServerFrame::Error {
            code: ErrorCode::TooManyPreKeys,
            request: Some(9),
            ..
        }
    ));
    // A forged signature is refused.
    let mut forged = bob.upload(0, 1);
    forged.kem_one_time[0].signature[0] ^= 1;
    bob_conn
        .send(&ClientFrame::UploadPreKeys {
            request: 10,
            prekeys: Box::new(forged),
        })
        .await;
    assert!(matches!(
        bob_conn.recv().await,
        ServerFrame::Error {
            code: ErrorCode::InvalidPreKeys,
            request: Some(10),
            ..
        }
    ));
}

/// The wire bundle in estafette-crypto's encoding (PROTOCOL.md section 2 fields).
fn to_crypto_bundle(b: &Bundle) -> Vec<u8> {
    let mut out = vec![1u8];
    out.extend_from_slice(&b.certificate);
    out.extend_from_slice(&b.signed_prekey.id.to_be_bytes());
    out.extend_from_slice(&b.signed_prekey.public_key);
    out.extend_from_slice(&b.signed_prekey.signature);
    out.extend_from_slice(&b.kem_prekey.id.to_be_bytes());
    out.push(u8::from(b.kem_one_time));
    out.extend_from_slice(&b.kem_prekey.public_key);
    out.extend_from_slice(&b.kem_prekey.signature);
    match &b.one_time {
        Some(k) => {
            out.push(1);
            out.extend_from_slice(&k.id.to_be_bytes());
            out.extend_from_slice(&k.public_key);
        }
        None => out.push(0),
    }
    out
}

#[tokio::test]
async fn directory_lookup_and_search() {
    let (_dir, relay) = relay(&[]);
    let (_a, mut alice) = member(&relay, "alice.martin@x.gouv.fr", "Alice Martin", 1).await;
    let _ = member(&relay, "bruno.martin@x.gouv.fr", "Bruno Martin", 1).await;
    let _ = member(&relay, "chloe@y.gouv.fr", "Chloé Petit", 1).await;
    relay.invite("dora@y.gouv.fr", "Dora Martin"); // invited, not registered: not listed
    async fn ask_with(alice: &mut Client, frame: ClientFrame) -> ServerFrame {
        alice.send(&frame).await;
        alice.recv_skipping_low().await
    }
    let ServerFrame::SearchResults { accounts, .. } = ask_with(
        &mut alice,
        ClientFrame::Search {
            request: 1,
            query: "mart".into(),
        },
    )
    .await
    else {
        panic!()
    };
    let handles: Vec<_> = accounts.iter().map(|a| a.handle.as_str()).collect();
    assert_eq!(
        handles,
        ["alice.martin@x.gouv.fr", "bruno.martin@x.gouv.fr"]
    );
    let ServerFrame::SearchResults { accounts, .. } = ask_with(
        &mut alice,
        ClientFrame::Search {
            request: 2,
            query: "CHL".into(),
        },
    )
    .await
    else {
        panic!()
    };
    assert_eq!(accounts.len(), 1);
    // Wildcards are literal.
    let ServerFrame::SearchResults { accounts, .. } = ask_with(
        &mut alice,
        ClientFrame::Search {
            request: 3,
            query: "%%".into(),
        },
    )
    .await
    else {
        panic!()
    };
    assert!(accounts.is_empty());
    let reply = ask_with(
        &mut alice,
        ClientFrame::Lookup {
            request: 4,
            handle: "chloe@y.gouv.fr".into(),
        },
    )
    .await;
    assert!(
        matches!(reply, ServerFrame::Account { request: 4, ref account } if account.name == "Chloé Petit" && account.devices.len() == 1)
    );
    let reply = ask_with(
        &mut alice,
        ClientFrame::Lookup {
            request: 5,
            handle: "dora@y.gouv.fr".into(),
        },
    )
    .await;
    assert!(matches!(
        reply,
        ServerFrame::Error {
            code: ErrorCode::NotFound,
            request: Some(5),
            ..
        }
    ));
}

#[tokio::test]
async fn searches_are_rate_limited() {
    let (_dir, relay) = relay(&[]);
    let (_a, mut alice) = member(&relay, "alice@x.gouv.fr", "Alice", 30).await;
    let mut limited = 0;
    for request in 0..150u32 {
        alice
            .send(&ClientFrame::Search {
                request,
                query: "al".into(),
            })
            .await;
        if let ServerFrame::Error {
            code: ErrorCode::RateLimited,
            ..
        } = alice.recv_skipping_low().await
        {
            limited += 1;
        }
    }
    assert!(
        limited >= 25,
        "only {limited} of 150 searches in a row were limited"
    );
}

#[tokio::test]
async fn bundle_fetches_allow_a_group_of_1000_then_are_rate_limited() {
    let (_dir, relay) = relay(&[]);
    let (_a, mut alice) = member(&relay, "alice@x.gouv.fr", "Alice", 30).await;
    let (_b, _bob) = member(&relay, "bob@x.gouv.fr", "Bob", 30).await;
    // A first message to a 1,000-member group fetches every member's
    // bundles at once: 1,000 in a row pass, the budget then refills slowly.
    const FETCHES: u32 = 1_100;
    for request in 0..FETCHES {
        alice
            .send(&ClientFrame::FetchBundles {
                request,
                handle: "bob@x.gouv.fr".into(),
            })
            .await;
    }
    let (mut answered, mut limited) = (0, 0);
    while answered + limited < FETCHES {
        match alice.recv_skipping_low().await {
            ServerFrame::Bundles { bundles, .. } => {
                assert_eq!(bundles.len(), 1);
                answered += 1;
            }
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                ..
            } => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(answered >= 1_000, "only {answered} fetches answered");
    assert!(
        limited >= 1,
        "none of {FETCHES} fetches in a row was limited"
    );
}

#[tokio::test]
async fn send_deliver_ack_stale_devices_idempotency_and_resumption() {
    let (_dir, relay) = relay(&[]);
    let (_a, mut alice) = member(&relay, "alice@x.gouv.fr", "Alice", 30).await;
    let (bob, mut bob_conn) = member(&relay, "bob@x.gouv.fr", "Bob", 30).await;

    // Wrong device: StaleDevices, nothing stored.
    alice
        .send(&send_to("bob@x.gouv.fr", DeviceId([9; 16]), 1, b"x"))
        .await;
    let reply = alice.recv().await;
    let ServerFrame::StaleDevices {
        idempotency_id,
        accounts,
    } = reply
    else {
        panic!("{reply:?}")
    };
    assert_eq!(idempotency_id, [1; 16]);
    assert_eq!(
        accounts,
        vec![StaleAccount {
            handle: "bob@x.gouv.fr".into(),
            missing: vec![bob.id()],
            extra: vec![DeviceId([9; 16])]
        }]
    );

    // Right device: accepted and delivered.
    alice
        .send(&send_to("bob@x.gouv.fr", bob.id(), 2, b"hello"))
        .await;
    assert_eq!(alice.recv().await, ServerFrame::Accepted([2; 16]));
    let ServerFrame::Deliver(first) = bob_conn.recv().await else {
        panic!()
    };
    assert_eq!(
        (first.sender.as_str(), first.payload.as_slice()),
        ("alice@x.gouv.fr", b"hello".as_slice())
    );

    // The same idempotency id again: same answer, no second copy.
    alice
        .send(&send_to("bob@x.gouv.fr", bob.id(), 2, b"hello"))
        .await;
    assert_eq!(alice.recv().await, ServerFrame::Accepted([2; 16]));
    alice
        .send(&send_to("bob@x.gouv.fr", bob.id(), 3, b"second"))
        .await;
    assert_eq!(alice.recv().await, ServerFrame::Accepted([3; 16]));
    let ServerFrame::Deliver(second) = bob_conn.recv().await else {
        panic!()
    };
    assert_eq!(second.payload, b"second");

    // Bob acks only the first, disconnects; the second comes back, in order, then nothing.
    bob_conn.send(&ClientFrame::Ack(first.delivery_id)).await;
    bob_conn.send(&ClientFrame::Ping(5)).await;
    assert_eq!(bob_conn.recv().await, ServerFrame::Pong(5));
    drop(bob_conn);
    let (mut bob_conn, reply) = Client::authenticate(relay.addr, &bob).await;
    assert!(matches!(reply, ServerFrame::Authenticated { .. }));
    let ServerFrame::Deliver(again) = bob_conn.recv_skipping_low().await else {
        panic!()
    };
    assert_eq!(
        (again.delivery_id, again.payload.as_slice()),
        (second.delivery_id, b"second".as_slice())
    );
    bob_conn.send(&ClientFrame::Ack(again.delivery_id)).await;
    bob_conn.send(&ClientFrame::Ping(6)).await;
    assert_eq!(bob_conn.recv().await, ServerFrame::Pong(6));

    // A send that forgets the sender's own other device is stale too.
    let mut alice2 = Identity::device_of(_a.account);
    let token = relay.invite("alice@x.gouv.fr", "Alice");
    let (_c2, reply) = Client::register(relay.addr, &mut alice2, &token, 1, 1).await;
    assert!(
        matches!(reply, ServerFrame::Authenticated { ref account, .. } if account.devices.len() == 2)
    );
    alice
        .send(&send_to("bob@x.gouv.fr", bob.id(), 4, b"x"))
        .await;
    let reply = alice.recv_skipping_low().await;
    assert!(
        matches!(reply, ServerFrame::StaleDevices { ref accounts, .. } if accounts[0].handle == "alice@x.gouv.fr" && accounts[0].missing == vec![alice2.id()]),
        "{reply:?}"
    );
}

#[tokio::test]
async fn full_queues_answer_queue_full_and_store_nothing() {
    let (_dir, relay) = relay(&["--queue-max", "3"]);
    let (_a, mut alice) = member(&relay, "alice@x.gouv.fr", "Alice", 30).await;
    let (bob, bob_conn) = member(&relay, "bob@x.gouv.fr", "Bob", 30).await;
    drop(bob_conn);
    for id in 1..=3 {
        alice
            .send(&send_to("bob@x.gouv.fr", bob.id(), id, b"m"))
            .await;
        assert_eq!(alice.recv().await, ServerFrame::Accepted([id; 16]));
    }
    alice
        .send(&send_to("bob@x.gouv.fr", bob.id(), 4, b"m"))
        .await;
    assert_eq!(
        alice.recv().await,
        ServerFrame::QueueFull {
            idempotency_id: [4; 16],
            handle: "bob@x.gouv.fr".into()
        }
    );
    let devices = admin(&relay.data, &["devices", "--handle", "bob@x.gouv.fr"]);
    assert_eq!(
        devices.lines().nth(1).unwrap().split_whitespace().nth(2),
        Some("3"),
        "{devices}"
    );
}

#[tokio::test]
async fn accepted_messages_survive_kill_9_in_sustained_traffic() {
    // Pipelined sends outrun the default 2,000 frames/s and 10,000-copy queue
    // cap on a fast machine; this test is about durability, not limits.
    let (_dir, mut relay) = relay(&["--frame-rate", "1000000", "--queue-max", "1000000"]);
    let (_a, alice) = member(&relay, "alice@x.gouv.fr", "Alice", 30).await;
    let (bob, bob_conn) = member(&relay, "bob@x.gouv.fr", "Bob", 30).await;
    drop(bob_conn);
    let bob_device = bob.id();
    // Alice sends as fast as the relay accepts, until the relay dies.
    let accepted = kill9_while_sending(&mut relay, alice, move |n| {
        ClientFrame::Send(Send {
            idempotency_id: numbered_id(n),
            envelopes: vec![Envelope {
                handle: "bob@x.gouv.fr".into(),
                device: bob_device,
                payload: n.to_be_bytes().to_vec(),
            }],
        })
    })
    .await;
    let (mut bob_conn, _) = Client::authenticate(relay.addr, &bob).await;
    let delivered = receive_all(&mut bob_conn, &accepted).await;
    eprintln!(
        "kill -9: {} accepted before the crash, all delivered after restart ({} delivered in all)",
        accepted.len(),
        delivered.len()
    );
}

#[tokio::test]
async fn malformed_input_gets_an_error_and_a_close_never_a_crash() {
    let (_dir, relay) = relay(&["--connections-per-ip", "100000"]);
    let rss_before = relay.rss_kib();
    let hello = ClientFrame::Hello(Hello {
        wire_version: WIRE_VERSION,
        software: "t".into(),
    })
    .encode();
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff; 64],
        hello[..hello.len() - 2].to_vec(), // truncated CBOR
        vec![0x82, 0x00, 0x81, 0x82, 0x61, b'x', 0x61, b'y'], // wrong types
        vec![0x82, 0x19, 0xff, 0xff, 0x80], // unknown variant
    ];
    let mut seed = 0x1234_5678u64;
    for _ in 0..200 {
        let len = (seed % 300) as usize;
        let bytes = (0..len)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (seed >> 33) as u8
            })
            .collect();
        inputs.push(bytes);
    }
    for bytes in inputs {
        let mut c = Client::connect(relay.addr).await;
        c.send_raw(bytes.clone()).await;
        match c.hear(Duration::from_secs(5)).await {
            Heard::Frame(ServerFrame::Error { code, .. }) => {
                assert!(
                    code == ErrorCode::MalformedFrame || code == ErrorCode::UnexpectedFrame,
                    "{code:?} for {bytes:02x?}"
                );
                assert!(matches!(
                    c.hear(Duration::from_secs(5)).await,
                    Heard::Closed(Some(4001 | 4003))
                ));
            }
            Heard::Frame(ServerFrame::Welcome(_)) => {} // random bytes that happen to be a Hello
            other => panic!("{other:?} for {bytes:02x?}"),
        }
    }
    // Oversized frames: the socket is closed.
    for _ in 0..20 {
        let mut c = Client::connect(relay.addr).await;
        c.send_raw(vec![0u8; limits::MAX_FRAME_BYTES + 1]).await;
        assert!(matches!(
            c.hear(Duration::from_secs(5)).await,
            Heard::Closed(_)
        ));
    }
    // Still serving, memory bounded.
    let (_a, mut alice) = member(&relay, "alice@x.gouv.fr", "Alice", 30).await;
    alice.send(&ClientFrame::Ping(1)).await;
    assert_eq!(alice.recv().await, ServerFrame::Pong(1));
    let growth = relay.rss_kib().saturating_sub(rss_before);
    assert!(growth < 64 * 1024, "RSS grew by {growth} KiB");
}

#[tokio::test]
async fn connection_floods_from_one_address_are_refused() {
    let (_dir, relay) = relay(&["--connections-per-ip", "20"]);
    let mut refused = 0;
    let mut open = Vec::new();
    for _ in 0..60 {
        match tokio_tungstenite::connect_async(format!("ws://{}/ws", relay.addr)).await {
            Ok((ws, _)) => open.push(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 429);
                refused += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(
        refused >= 30,
        "only {refused} of 60 connections in a burst were refused"
    );
}

#[tokio::test]
async fn pipelined_sends_are_answered_in_the_order_they_came() {
    let (_dir, relay) = relay(&[]);
    let (_a, mut alice) = member(&relay, "alice@x.gouv.fr", "Alice", 30).await;
    let (bob, mut bob_conn) = member(&relay, "bob@x.gouv.fr", "Bob", 30).await;
    // 40 sends without waiting (more than a session stores at once), every
    // fifth to a wrong device, then a lookup and a ping.
    let mut expected = Vec::new();
    for id in 0..40u8 {
        let device = if id % 5 == 4 {
            DeviceId([9; 16])
        } else {
            bob.id()
        };
        alice
            .send(&send_to("bob@x.gouv.fr", device, id, &[id]))
            .await;
        expected.push(if id % 5 == 4 { None } else { Some(id) });
    }
    alice
        .send(&ClientFrame::Lookup {
            request: 7,
            handle: "bob@x.gouv.fr".into(),
        })
        .await;
    alice.send(&ClientFrame::Ping(8)).await;
    for (id, accepted) in (0u8..).zip(&expected) {
        match (alice.recv_skipping_low().await, accepted) {
            (ServerFrame::Accepted(got), Some(_)) => assert_eq!(got, [id; 16]),
            (ServerFrame::StaleDevices { idempotency_id, .. }, None) => {
                assert_eq!(idempotency_id, [id; 16])
            }
            (other, _) => panic!("answer {id}: {other:?}"),
        }
    }
    assert!(matches!(
        alice.recv_skipping_low().await,
        ServerFrame::Account { request: 7, .. }
    ));
    assert_eq!(alice.recv_skipping_low().await, ServerFrame::Pong(8));
    // Bob gets the accepted ones in order.
    for id in expected.into_iter().flatten() {
        let ServerFrame::Deliver(d) = bob_conn.recv_skipping_low().await else {
            panic!()
        };
        assert_eq!(d.payload, [id]);
        bob_conn.send(&ClientFrame::Ack(d.delivery_id)).await;
    }
}
