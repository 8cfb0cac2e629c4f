//! 1:1 messages: accepted once stored, delivered in order, acknowledged,
//! resent to a reconnecting device, refused when stale or over a queue cap,
//! answered in order when pipelined; slow and silent clients.

use std::time::Duration;

use estafette_relay::store::Store;
use estafette_relay::{SessionConfig, StoreLimits};
use estafette_testkit::fixtures::{authenticate, member, register};
use estafette_testkit::frames::send_to;
use estafette_testkit::{Heard, Identity};
use estafette_wire::{ClientFrame, DeviceId, ErrorCode, ServerFrame, StaleAccount};

use super::{relay, relay_with, wait_for_payloads};

#[tokio::test]
async fn send_deliver_ack_stale_devices_idempotency_and_resumption() {
    let relay = relay().await;
    let (a, mut alice) = member(&relay, "alice@x.gouv.fr", "Alice", 30).await;
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
    // Acks are deleted in batches shortly after: until then a reconnecting
    // device gets the copy again (at-least-once).
    wait_for_payloads(&relay.store, 1).await;
    drop(bob_conn);
    let (mut bob_conn, reply) = authenticate(&relay, &bob).await;
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
    let mut alice2 = Identity::device_of(a.account().clone()).unwrap();
    let token = relay.invite("alice@x.gouv.fr", "Alice").await.unwrap();
    let (_c2, reply) = register(&relay, &mut alice2, &token, 1, 1).await;
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
    // A send without recipients, or to one device twice, ends the session.
    for bad in [
        ClientFrame::Send(estafette_wire::Send {
            idempotency_id: [5; 16],
            envelopes: Vec::new(),
        }),
        ClientFrame::Send(estafette_wire::Send {
            idempotency_id: [6; 16],
            envelopes: [1, 2]
                .map(|n| estafette_wire::Envelope {
                    handle: "bob@x.gouv.fr".into(),
                    device: bob.id(),
                    payload: vec![n],
                })
                .to_vec(),
        }),
    ] {
        let (mut c, _) = authenticate(&relay, &alice2).await;
        c.send(&bad).await;
        c.expect_error(ErrorCode::MalformedFrame).await;
    }
}

#[tokio::test]
async fn full_queues_answer_queue_full_and_store_nothing() {
    let limits = StoreLimits {
        max_queue_count: 3,
        ..StoreLimits::default()
    };
    let relay = relay_with(SessionConfig::default(), limits).await;
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
    let devices = relay
        .store
        .list_devices("bob@x.gouv.fr".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(devices[0].queued, 3);
}

#[tokio::test]
async fn pipelined_sends_are_answered_in_the_order_they_came() {
    let relay = relay().await;
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

#[tokio::test]
async fn a_flood_of_frames_is_rate_limited_and_silence_closes_the_session() {
    let config = SessionConfig {
        frame_rate: std::num::NonZeroU32::new(5).unwrap(),
        frame_burst: std::num::NonZeroU32::new(10).unwrap(),
        idle_timeout: Duration::from_millis(1500),
        ..SessionConfig::default()
    };
    let relay = relay_with(config, StoreLimits::default()).await;
    let (_a, mut alice) = member(&relay, "alice@x.gouv.fr", "Alice", 30).await;
    for n in 0..30 {
        alice.send(&ClientFrame::Ping(n)).await;
    }
    let (mut pongs, mut limited) = (0, 0);
    for _ in 0..30 {
        match alice.recv_skipping_low().await {
            ServerFrame::Pong(_) => pongs += 1,
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                ..
            } => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(
        pongs >= 5 && limited >= 10,
        "{pongs} pongs, {limited} limited"
    );
    // Then nothing from the client: closed as idle.
    let closed = loop {
        match alice.heard(Duration::from_secs(5)).await {
            Heard::Frame(_) => continue,
            Heard::Closed(code) => break code,
        }
    };
    assert_eq!(closed, Some(estafette_relay::session::close_code::IDLE));
}
