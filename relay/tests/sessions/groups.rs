//! Group sends: one payload stored for many devices, checked against each
//! account's devices, deduplicated by id, skipping full queues, refused
//! when malformed.

use estafette_relay::store::Store;
use estafette_relay::{SessionConfig, StoreLimits};
use estafette_testkit::fixtures::{account, authenticate, hello, ids};
use estafette_testkit::frames::{group_send as group, recipient as to};
use estafette_wire::limits::{MAX_GROUP_ACCOUNTS, MAX_GROUP_DEVICES, MAX_PAYLOAD_BYTES};
use estafette_wire::*;

use super::{Conn, delivery, relay, relay_with, wait_for_payloads};

#[tokio::test]
async fn a_group_send_reaches_every_device_and_its_payload_goes_with_the_last_ack() {
    let relay = relay().await;
    let mut a = account(&relay, "a@x.gouv.fr", 2).await;
    let mut b = account(&relay, "b@x.gouv.fr", 2).await;
    let mut c = account(&relay, "c@x.gouv.fr", 2).await;
    let sender = a[0].0.id();
    let recipients = vec![
        to("a@x.gouv.fr", vec![a[1].0.id()]),
        to("b@x.gouv.fr", ids(&b)),
        to("c@x.gouv.fr", ids(&c)),
    ];
    let payload = vec![0x5a; 300];
    a[0].1.send(&group(1, recipients, &payload)).await;
    assert_eq!(
        a[0].1.recv_skipping_low().await,
        ServerFrame::Accepted([1; 16])
    );
    let store = &relay.store;
    assert_eq!(store.payloads_total().await.unwrap(), 1, "not stored once");

    let (_, first) = a.split_at_mut(1);
    let mut receivers: Vec<&mut Conn> = first
        .iter_mut()
        .chain(b.iter_mut())
        .chain(c.iter_mut())
        .map(|(_, client)| client)
        .collect();
    assert_eq!(receivers.len(), 5);
    for (n, client) in receivers.iter_mut().enumerate() {
        let d = delivery(client).await;
        assert_eq!(
            (d.sender.as_str(), d.sender_device, d.payload.as_slice()),
            ("a@x.gouv.fr", sender, payload.as_slice()),
            "receiver {n}"
        );
        assert_eq!(
            store.payloads_total().await.unwrap(),
            1,
            "gone before ack {n}"
        );
        client.send(&ClientFrame::Ack(d.delivery_id)).await;
        client.send(&ClientFrame::Ping(n as u64)).await;
        assert_eq!(
            client.recv_skipping_low().await,
            ServerFrame::Pong(n as u64)
        );
    }
    wait_for_payloads(store, 0).await;
    assert_eq!(store.queued_total().await.unwrap(), 0);
    // Nothing comes twice.
    for client in &mut receivers {
        client.send(&ClientFrame::Ping(99)).await;
        assert_eq!(client.recv_skipping_low().await, ServerFrame::Pong(99));
    }
    let text = relay.hub.metrics().render();
    for line in [
        r#"estafette_relay_frames_total{direction="in",kind="group_send"} 1"#,
        "estafette_relay_group_messages_accepted_total 1",
        "estafette_relay_copies_accepted_total 5",
        "estafette_relay_group_copies_skipped_total 0",
    ] {
        assert!(text.contains(line), "{line} not in {text}");
    }
}

#[tokio::test]
async fn stale_group_sends_store_nothing_and_repeated_ids_store_once() {
    let relay = relay().await;
    let mut a = account(&relay, "a@x.gouv.fr", 2).await;
    let mut b = account(&relay, "b@x.gouv.fr", 2).await;
    let mut c = account(&relay, "c@x.gouv.fr", 1).await;
    let (a1, b0, b1, c0) = (a[1].0.id(), b[0].0.id(), b[1].0.id(), c[0].0.id());
    let bogus = DeviceId([0xee; 16]);
    let stale = |handle: &str, missing: Vec<DeviceId>, extra: Vec<DeviceId>| StaleAccount {
        handle: handle.into(),
        missing,
        extra,
    };
    let cases = [
        (
            vec![
                to("a@x.gouv.fr", vec![a1]),
                to("b@x.gouv.fr", vec![b0]),
                to("c@x.gouv.fr", vec![c0]),
            ],
            vec![stale("b@x.gouv.fr", vec![b1], vec![])],
        ),
        (
            vec![
                to("a@x.gouv.fr", vec![a1]),
                to("b@x.gouv.fr", vec![b0, b1]),
                to("c@x.gouv.fr", vec![c0, bogus]),
            ],
            vec![stale("c@x.gouv.fr", vec![], vec![bogus])],
        ),
        (
            vec![to("b@x.gouv.fr", vec![b0, b1]), to("c@x.gouv.fr", vec![c0])],
            vec![stale("a@x.gouv.fr", vec![a1], vec![])],
        ),
    ];
    for (id, (recipients, expected)) in (1..).zip(cases) {
        a[0].1.send(&group(id, recipients, b"stale")).await;
        let mut expected = expected;
        expected.sort_by(|x, y| x.handle.cmp(&y.handle));
        assert_eq!(
            a[0].1.recv_skipping_low().await,
            ServerFrame::StaleDevices {
                idempotency_id: [id; 16],
                accounts: expected
            }
        );
    }
    let store = &relay.store;
    assert_eq!(store.payloads_total().await.unwrap(), 0);

    let everyone = || {
        vec![
            to("a@x.gouv.fr", vec![a1]),
            to("b@x.gouv.fr", vec![b0, b1]),
            to("c@x.gouv.fr", vec![c0]),
        ]
    };
    // The same id twice: Accepted both times, stored once.
    for _ in 0..2 {
        a[0].1.send(&group(7, everyone(), b"first")).await;
        assert_eq!(
            a[0].1.recv_skipping_low().await,
            ServerFrame::Accepted([7; 16])
        );
    }
    // A 1:1 Send with that id is a repeat too (one id space per device).
    a[0].1
        .send(&ClientFrame::Send(Send {
            idempotency_id: [7; 16],
            envelopes: vec![Envelope {
                handle: "a@x.gouv.fr".into(),
                device: a1,
                payload: b"other".to_vec(),
            }],
        }))
        .await;
    assert_eq!(
        a[0].1.recv_skipping_low().await,
        ServerFrame::Accepted([7; 16])
    );
    a[0].1.send(&group(8, everyone(), b"second")).await;
    assert_eq!(
        a[0].1.recv_skipping_low().await,
        ServerFrame::Accepted([8; 16])
    );
    assert_eq!(store.payloads_total().await.unwrap(), 2);
    let (_, rest) = a.split_at_mut(1);
    for (_, client) in rest.iter_mut().chain(b.iter_mut()).chain(c.iter_mut()) {
        let first = delivery(client).await;
        let second = delivery(client).await;
        assert_eq!(
            (first.payload.as_slice(), second.payload.as_slice()),
            (b"first".as_slice(), b"second".as_slice())
        );
    }
}

#[tokio::test]
async fn a_full_queue_skips_its_device_and_the_group_goes_on() {
    let limits = StoreLimits {
        max_queue_count: 3,
        ..StoreLimits::default()
    };
    let relay = relay_with(SessionConfig::default(), limits).await;
    let mut a = account(&relay, "a@x.gouv.fr", 1).await;
    let mut b = account(&relay, "b@x.gouv.fr", 2).await;
    let mut c = account(&relay, "c@x.gouv.fr", 1).await;
    let away = b.pop().unwrap().0;
    let everyone = vec![
        to("b@x.gouv.fr", vec![b[0].0.id(), away.id()]),
        to("c@x.gouv.fr", vec![c[0].0.id()]),
    ];
    for id in 1..=5u8 {
        a[0].1.send(&group(id, everyone.clone(), &[id])).await;
        let expected = if id <= 3 {
            ServerFrame::Accepted([id; 16])
        } else {
            ServerFrame::GroupAccepted {
                idempotency_id: [id; 16],
                queue_full: vec![to("b@x.gouv.fr", vec![away.id()])],
            }
        };
        assert_eq!(a[0].1.recv_skipping_low().await, expected);
        // The connected devices keep up, so their queues never fill.
        for client in [&mut b[0].1, &mut c[0].1] {
            let d = delivery(client).await;
            assert_eq!(d.payload, [id]);
            client.send(&ClientFrame::Ack(d.delivery_id)).await;
        }
    }
    // The device that was away gets what fitted, in order.
    let (mut back, _) = authenticate(&relay, &away).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(delivery(&mut back).await.payload[0]);
    }
    assert_eq!(got, [1, 2, 3]);
    back.send(&ClientFrame::Ping(1)).await;
    assert_eq!(back.recv_skipping_low().await, ServerFrame::Pong(1));
    let text = relay.hub.metrics().render();
    assert!(
        text.contains("estafette_relay_group_copies_skipped_total 2"),
        "{text}"
    );
}

#[tokio::test]
async fn malformed_group_sends_get_an_error_and_a_close() {
    let relay = relay().await;
    let a = account(&relay, "a@x.gouv.fr", 1).await;
    let b = account(&relay, "b@x.gouv.fr", 2).await;
    let (b0, b1) = (b[0].0.id(), b[1].0.id());
    let many = |accounts: usize, each: usize| -> Vec<GroupRecipient> {
        (0..accounts)
            .map(|n| {
                let devices = (0..each)
                    .map(|d| {
                        let mut id = [0u8; 16];
                        id[..4].copy_from_slice(&(n as u32).to_be_bytes());
                        id[4] = d as u8;
                        DeviceId(id)
                    })
                    .collect();
                to(&format!("m{n}@x.gouv.fr"), devices)
            })
            .collect()
    };
    let cases: Vec<(&str, ClientFrame)> = vec![
        ("no recipients", group(1, vec![], b"x")),
        (
            "a recipient without devices",
            group(2, vec![to("b@x.gouv.fr", vec![])], b"x"),
        ),
        (
            "a handle twice",
            group(
                3,
                vec![to("b@x.gouv.fr", vec![b0]), to("b@x.gouv.fr", vec![b1])],
                b"x",
            ),
        ),
        (
            "a device twice",
            group(4, vec![to("b@x.gouv.fr", vec![b0, b0])], b"x"),
        ),
        (
            "a device under two accounts",
            group(
                5,
                vec![to("b@x.gouv.fr", vec![b0, b1]), to("c@x.gouv.fr", vec![b0])],
                b"x",
            ),
        ),
        (
            "too many accounts",
            group(6, many(MAX_GROUP_ACCOUNTS + 1, 1), b"x"),
        ),
        (
            "too many devices",
            group(7, many(MAX_GROUP_DEVICES / 5 + 1, 5), b"x"),
        ),
        (
            "too large a payload",
            group(
                8,
                vec![to("b@x.gouv.fr", vec![b0, b1])],
                &vec![0; MAX_PAYLOAD_BYTES + 1],
            ),
        ),
    ];
    for (what, frame) in cases {
        let (mut client, _) = authenticate(&relay, &a[0].0).await;
        client.send(&frame).await;
        match client.recv_skipping_low().await {
            ServerFrame::Error { code, .. } => {
                assert_eq!(code, ErrorCode::MalformedFrame, "{what}")
            }
            other => panic!("{what}: {other:?}"),
        }
        client
            .expect_closed(ErrorCode::MalformedFrame.close_code())
            .await;
    }
    // Before authentication: refused, not fatal.
    let mut stranger = hello(&relay).await;
    stranger
        .send(&group(9, vec![to("b@x.gouv.fr", vec![b0, b1])], b"x"))
        .await;
    stranger.expect_error(ErrorCode::NotAuthenticated).await;
    stranger.send(&ClientFrame::Ping(3)).await;
    assert_eq!(stranger.recv().await, ServerFrame::Pong(3));
    // Nothing was stored, and the relay still serves.
    assert_eq!(relay.store.payloads_total().await.unwrap(), 0);
    let (mut client, _) = authenticate(&relay, &a[0].0).await;
    client
        .send(&group(10, vec![to("b@x.gouv.fr", vec![b0, b1])], b"ok"))
        .await;
    assert_eq!(
        client.recv_skipping_low().await,
        ServerFrame::Accepted([10; 16])
    );
}
