//! The relay binary as operators run it: admin commands on a live relay,
//! `kill -9` in sustained traffic, garbage on real sockets, connection
//! floods. The protocol itself is tested in memory (`tests/sessions`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use estafette_testkit::fixtures::{account, authenticate, ids, member};
use estafette_testkit::frames::{numbered_id, recipient, send_to};
use estafette_testkit::{Heard, Identity, ws};
use estafette_wire::*;

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
    let out = admin(&relay, &["revoke", "--handle", "bob@x.gouv.fr"]);
    assert!(out.contains("1 device"), "{out}");
    // Whatever Bob received before, his socket closes with the revocation code.
    let closed = loop {
        match bob.heard(Duration::from_secs(5)).await {
            Heard::Frame(_) => continue,
            Heard::Closed(code) => break code,
        }
    };
    assert_eq!(closed, Some(ErrorCode::AccountRevoked.close_code()));
    let devices = admin(&relay, &["devices", "--handle", "bob@x.gouv.fr"]);
    let row = devices.lines().nth(1).unwrap();
    assert!(
        row.split_whitespace().skip(2).all(|n| n == "0"),
        "queue and prekeys left: {row}"
    );
    // The CLI lists Alice as active, Bob as revoked.
    let list = admin(&relay, &["list"]);
    for (handle, state) in [("alice@x.gouv.fr", "active"), ("bob@x.gouv.fr", "revoked")] {
        assert!(
            list.lines()
                .any(|l| l.starts_with(handle) && l.contains(state)),
            "{list}"
        );
    }
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
    let (mut bob_conn, _) = authenticate(&relay, &bob).await;
    let delivered = receive_all(&mut bob_conn, &accepted).await;
    eprintln!(
        "kill -9: {} accepted before the crash, all delivered after restart ({} delivered in all)",
        accepted.len(),
        delivered.len()
    );
}

#[tokio::test]
async fn accepted_group_messages_survive_kill_9_in_sustained_traffic() {
    let (_dir, mut relay) = relay(&[
        "--queue-max",
        "1000000",
        // Pipelined sends outrun the default 2,000 frames/s on a fast
        // machine; this test is about durability, not rate limits.
        "--frame-rate",
        "1000000",
    ]);
    let mut a = account(&relay, "a@x.gouv.fr", 1).await;
    let b = account(&relay, "b@x.gouv.fr", 2).await;
    let c = account(&relay, "c@x.gouv.fr", 1).await;
    let recipients = vec![
        recipient("b@x.gouv.fr", ids(&b)),
        recipient("c@x.gouv.fr", ids(&c)),
    ];
    let offline: Vec<Identity> = b
        .into_iter()
        .chain(c)
        .map(|(identity, _)| identity)
        .collect();
    let (_, alice) = a.pop().unwrap();
    // Group sends as fast as the relay accepts, until the relay dies.
    let accepted = kill9_while_sending(&mut relay, alice, move |n| {
        ClientFrame::GroupSend(GroupSend {
            idempotency_id: numbered_id(n),
            recipients: recipients.clone(),
            payload: n.to_be_bytes().to_vec(),
        })
    })
    .await;
    for identity in &offline {
        let (mut client, _) = authenticate(&relay, identity).await;
        receive_all(&mut client, &accepted).await;
    }
    eprintln!(
        "kill -9: {} group messages accepted before the crash, all delivered to the {} devices after restart",
        accepted.len(),
        offline.len()
    );
}

#[tokio::test]
async fn malformed_input_gets_an_error_and_a_close_never_a_crash() {
    let (_dir, relay) = relay(&["--connections-per-ip", "100000"]);
    let rss_before = relay.rss_kib().unwrap();
    let hello = estafette_testkit::frames::hello("t").encode();
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
        let mut c = ws::connect(relay.addr).await.unwrap();
        c.send_raw(bytes.clone()).await;
        match c.heard(Duration::from_secs(5)).await {
            Heard::Frame(ServerFrame::Error { code, .. }) => {
                assert!(
                    code == ErrorCode::MalformedFrame || code == ErrorCode::UnexpectedFrame,
                    "{code:?} for {bytes:02x?}"
                );
                assert!(matches!(
                    c.heard(Duration::from_secs(5)).await,
                    Heard::Closed(Some(4001 | 4003))
                ));
            }
            Heard::Frame(ServerFrame::Welcome(_)) => {} // random bytes that happen to be a Hello
            other => panic!("{other:?} for {bytes:02x?}"),
        }
    }
    // Oversized frames: the socket is closed.
    for _ in 0..20 {
        let mut c = ws::connect(relay.addr).await.unwrap();
        c.send_raw(vec![0u8; limits::MAX_FRAME_BYTES + 1]).await;
        assert!(matches!(
            c.heard(Duration::from_secs(5)).await,
            Heard::Closed(_)
        ));
    }
    // Still serving, memory bounded.
    let (_a, mut alice) = member(&relay, "alice@x.gouv.fr", "Alice", 30).await;
    alice.send(&ClientFrame::Ping(1)).await;
    assert_eq!(alice.recv().await, ServerFrame::Pong(1));
    let growth = relay.rss_kib().unwrap().saturating_sub(rss_before);
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
