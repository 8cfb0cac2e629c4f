//! Behaviour every `Store` backend must have. A backend adds one line to
//! `store_suite!` below (PostgreSQL will, with a server it starts itself).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use estafette_relay::store::{
    GroupSendOutcome, NewDevice, NewGroupSend, NewSend, RegisterRefusal, SendOutcome, Store,
};
use estafette_relay::{SqliteStore, StoreLimits};
use estafette_wire::{
    DeviceId, Envelope, GroupRecipient, KemPreKey, OneTimePreKey, PreKeyUpload, SignedPreKey,
    StaleAccount,
};

const DAY: u64 = 24 * 3600 * 1000;

fn upload(opk: std::ops::Range<u32>, pqopk: std::ops::Range<u32>) -> PreKeyUpload {
    PreKeyUpload {
        signed_prekey: Some(SignedPreKey {
            id: 1,
            public_key: [1; 32],
            signature: [2; 64],
        }),
        kem_last_resort: Some(KemPreKey {
            id: 1000,
            public_key: vec![3; 1568],
            signature: [4; 64],
        }),
        one_time: opk
            .map(|id| OneTimePreKey {
                id,
                public_key: [id as u8; 32],
            })
            .collect(),
        kem_one_time: pqopk
            .map(|id| KemPreKey {
                id,
                public_key: vec![id as u8; 1568],
                signature: [5; 64],
            })
            .collect(),
    }
}

async fn register(
    store: &dyn Store,
    handle: &str,
    key: u8,
    device: u8,
    now: u64,
) -> Result<(), RegisterRefusal> {
    let mut token = [0xa5; 32];
    token[0] = key;
    token[1] = device;
    store
        .create_invite(
            handle.into(),
            handle.to_uppercase(),
            token,
            now,
            now + 7 * DAY,
        )
        .await
        .unwrap()?;
    store
        .register(NewDevice {
            token_hash: token,
            account_key: [key; 32],
            device_id: DeviceId([device; 16]),
            certificate: vec![device; 152],
            prekeys: upload(1..4, 1..3),
            now_ms: now,
        })
        .await
        .unwrap()
        .map(|_| ())
}

fn send(from: &str, device: u8, id: u8, to: &[(&str, u8)]) -> NewSend {
    NewSend {
        sender_handle: from.into(),
        sender_device: DeviceId([device; 16]),
        idempotency_id: [id; 16],
        envelopes: to
            .iter()
            .map(|(handle, d)| Envelope {
                handle: (*handle).into(),
                device: DeviceId([*d; 16]),
                payload: vec![id; 10],
            })
            .collect(),
        now_ms: 1_000,
    }
}

/// Handles with the (one-byte) ids of their addressed devices.
type Addressed<'a> = &'a [(&'a str, &'a [u8])];

fn group(from: &str, device: u8, id: u8, to: Addressed<'_>) -> NewGroupSend {
    NewGroupSend {
        sender_handle: from.into(),
        sender_device: DeviceId([device; 16]),
        idempotency_id: [id; 16],
        recipients: to
            .iter()
            .map(|(handle, devices)| GroupRecipient {
                handle: (*handle).into(),
                devices: devices.iter().map(|d| DeviceId([*d; 16])).collect(),
            })
            .collect(),
        payload: vec![id; 300],
        now_ms: 1_000,
    }
}

fn accepted(queued: &[u8], queue_full: Addressed<'_>) -> GroupSendOutcome {
    GroupSendOutcome::Accepted {
        queued: queued.iter().map(|d| DeviceId([*d; 16])).collect(),
        queue_full: group("", 0, 0, queue_full).recipients,
    }
}

async fn invitations_bind_an_identity_once(store: &dyn Store) {
    assert_eq!(register(store, "a@x.fr", 1, 1, 10).await, Ok(()));
    // A second device of the same identity, with a new invitation.
    assert_eq!(register(store, "a@x.fr", 1, 2, 10).await, Ok(()));
    // Another identity cannot take the handle.
    assert_eq!(
        register(store, "a@x.fr", 9, 3, 10).await,
        Err(RegisterRefusal::HandleTaken)
    );
    // Nor can one identity hold two handles.
    assert_eq!(
        register(store, "b@x.fr", 1, 4, 10).await,
        Err(RegisterRefusal::HandleTaken)
    );
    let token = [7; 32];
    store
        .create_invite("c@x.fr".into(), "C".into(), token, 10, 20)
        .await
        .unwrap()
        .unwrap();
    let device = |d: u8, now: u64| NewDevice {
        token_hash: token,
        account_key: [3; 32],
        device_id: DeviceId([d; 16]),
        certificate: vec![0; 152],
        prekeys: upload(1..2, 1..2),
        now_ms: now,
    };
    assert_eq!(
        store.register(device(5, 30)).await.unwrap().err(),
        Some(RegisterRefusal::TokenExpired)
    );
    assert_eq!(
        store
            .register(device(5, 15))
            .await
            .unwrap()
            .map(|a| a.devices.len()),
        Ok(1)
    );
    assert_eq!(
        store.register(device(6, 15)).await.unwrap().err(),
        Some(RegisterRefusal::TokenUsed)
    );
    let mut bad = device(6, 15);
    bad.token_hash = [8; 32];
    assert_eq!(
        store.register(bad).await.unwrap().err(),
        Some(RegisterRefusal::InvalidToken)
    );
    let account = store.account("a@x.fr".into()).await.unwrap().unwrap();
    assert_eq!(
        (account.account_key, account.devices.len()),
        (vec![1; 32], 2)
    );
}

async fn bundles_consume_one_time_keys_exactly_once(store: &dyn Store) {
    register(store, "b@x.fr", 2, 9, 10).await.unwrap();
    let mut opk = Vec::new();
    let mut kem = Vec::new();
    for _ in 0..4 {
        let (_, bundles) = store.take_bundles("b@x.fr".into()).await.unwrap().unwrap();
        let (bundle, stock) = &bundles[0];
        opk.push(bundle.one_time.as_ref().map(|k| k.id));
        kem.push((bundle.kem_prekey.id, bundle.kem_one_time));
        assert_eq!(
            stock.one_time as usize,
            opk.iter().flatten().count().abs_diff(3)
        );
    }
    assert_eq!(opk, [Some(1), Some(2), Some(3), None]);
    assert_eq!(kem, [(1, true), (2, true), (1000, false), (1000, false)]);
    assert!(
        store
            .take_bundles("nobody@x.fr".into())
            .await
            .unwrap()
            .is_none()
    );
}

async fn prekey_uploads_respect_the_cap_atomically(store: &dyn Store) {
    register(store, "c@x.fr", 3, 10, 10).await.unwrap();
    let device = DeviceId([10; 16]);
    let stock = store
        .upload_prekeys(device, upload(100..297, 0..0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stock.one_time, 200);
    assert!(
        store
            .upload_prekeys(device, upload(400..401, 10..11))
            .await
            .unwrap()
            .is_none()
    );
    let after = store.prekey_stock(device).await.unwrap();
    assert_eq!(
        (after.one_time, after.kem_one_time),
        (200, 2),
        "a refused upload stored something"
    );
}

async fn sends_check_devices_and_are_idempotent(store: &dyn Store) {
    register(store, "s@x.fr", 4, 20, 10).await.unwrap();
    register(store, "s@x.fr", 4, 21, 10).await.unwrap();
    register(store, "r@x.fr", 5, 30, 10).await.unwrap();
    // Missing the sender's other device and with a wrong recipient device.
    let outcome = store
        .send(send("s@x.fr", 20, 1, &[("r@x.fr", 31)]))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        SendOutcome::Stale(vec![
            StaleAccount {
                handle: "r@x.fr".into(),
                missing: vec![DeviceId([30; 16])],
                extra: vec![DeviceId([31; 16])]
            },
            StaleAccount {
                handle: "s@x.fr".into(),
                missing: vec![DeviceId([21; 16])],
                extra: vec![]
            },
        ])
    );
    assert!(
        store
            .pending(DeviceId([30; 16]), 0, 10)
            .await
            .unwrap()
            .is_empty(),
        "a stale send stored a copy"
    );
    let right = send("s@x.fr", 20, 2, &[("r@x.fr", 30), ("s@x.fr", 21)]);
    assert!(
        matches!(store.send(right.clone()).await.unwrap(), SendOutcome::Accepted(d) if d.len() == 2)
    );
    assert_eq!(
        store.send(right).await.unwrap(),
        SendOutcome::Accepted(vec![])
    );
    let queued = store.pending(DeviceId([30; 16]), 0, 10).await.unwrap();
    assert_eq!(
        queued.len(),
        1,
        "a repeated idempotency id stored a second copy"
    );
    assert_eq!(
        (queued[0].sender.as_str(), queued[0].payload.as_slice()),
        ("s@x.fr", [2u8; 10].as_slice())
    );
    // Unknown accounts have no devices.
    let outcome = store
        .send(send("s@x.fr", 20, 3, &[("ghost@x.fr", 1), ("s@x.fr", 21)]))
        .await
        .unwrap();
    assert!(
        matches!(outcome, SendOutcome::Stale(ref s) if s[0].handle == "ghost@x.fr" && s[0].extra.len() == 1)
    );
}

async fn queues_deliver_in_order_and_ack_and_expire(store: &dyn Store) {
    register(store, "q@x.fr", 6, 40, 10).await.unwrap();
    register(store, "p@x.fr", 7, 41, 10).await.unwrap();
    for id in 1..=3 {
        let outcome = store
            .send(send("p@x.fr", 41, id, &[("q@x.fr", 40)]))
            .await
            .unwrap();
        assert!(matches!(outcome, SendOutcome::Accepted(_)), "{outcome:?}");
    }
    let device = DeviceId([40; 16]);
    let all = store.pending(device, 0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.payload[0]).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    let after_one = store.pending(device, all[0].seq, 1).await.unwrap();
    assert_eq!(
        after_one.iter().map(|c| c.payload[0]).collect::<Vec<_>>(),
        [2]
    );
    assert!(store.ack(device, all[0].seq).await.unwrap());
    assert!(
        !store.ack(device, all[0].seq).await.unwrap(),
        "a copy was acknowledged twice"
    );
    assert!(
        !store.ack(DeviceId([41; 16]), all[1].seq).await.unwrap(),
        "another device acknowledged a copy"
    );
    assert_eq!(store.queued_total().await.unwrap(), 2);
    let retention = StoreLimits::default().retention_ms;
    assert_eq!(store.expire(1_000 + retention - 1).await.unwrap(), 0);
    assert_eq!(store.expire(1_000 + retention + 1).await.unwrap(), 2);
    assert_eq!(store.queued_total().await.unwrap(), 0);
    assert!(store.pending(device, 0, 100).await.unwrap().is_empty());
}

async fn full_queues_refuse_whole_sends(store: &dyn Store) {
    register(store, "f@x.fr", 8, 50, 10).await.unwrap();
    register(store, "g@x.fr", 9, 51, 10).await.unwrap();
    let mut accepted = 0;
    let mut full = None;
    for id in 0..=255u8 {
        match store
            .send(send("g@x.fr", 51, id, &[("f@x.fr", 50)]))
            .await
            .unwrap()
        {
            SendOutcome::Accepted(_) => accepted += 1,
            SendOutcome::QueueFull(handle) => {
                full = Some(handle);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((accepted, full.as_deref()), (3, Some("f@x.fr")));
}

async fn revocation_drops_everything_but_the_record(store: &dyn Store) {
    register(store, "v@x.fr", 10, 60, 10).await.unwrap();
    register(store, "w@x.fr", 11, 61, 10).await.unwrap();
    store
        .send(send("w@x.fr", 61, 1, &[("v@x.fr", 60)]))
        .await
        .unwrap();
    let devices = store.revoke("v@x.fr".into(), 500).await.unwrap().unwrap();
    assert_eq!(devices, vec![DeviceId([60; 16])]);
    assert!(
        store
            .pending(DeviceId([60; 16]), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .prekey_stock(DeviceId([60; 16]))
            .await
            .unwrap()
            .one_time,
        0
    );
    assert!(
        store
            .device(DeviceId([60; 16]))
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(store.account("v@x.fr".into()).await.unwrap().is_none());
    assert_eq!(
        store.revoked_devices_since(400).await.unwrap(),
        vec![DeviceId([60; 16])]
    );
    assert!(store.revoked_devices_since(600).await.unwrap().is_empty());
    assert_eq!(
        register(store, "v@x.fr", 10, 62, 10).await,
        Err(RegisterRefusal::Revoked)
    );
    assert!(
        store
            .revoke("nobody@x.fr".into(), 1)
            .await
            .unwrap()
            .is_none()
    );
}

async fn search_matches_prefixes_literally(store: &dyn Store) {
    for (i, handle) in ["jean.dupont@x.fr", "jeanne@x.fr", "marc@x.fr"]
        .iter()
        .enumerate()
    {
        register(store, handle, 100 + i as u8, 100 + i as u8, 10)
            .await
            .unwrap();
    }
    let names =
        |v: Vec<estafette_wire::AccountInfo>| v.into_iter().map(|a| a.handle).collect::<Vec<_>>();
    assert_eq!(
        names(store.search("jean".into(), 20).await.unwrap()),
        ["jean.dupont@x.fr", "jeanne@x.fr"]
    );
    assert_eq!(
        names(store.search("JEAN.".into(), 20).await.unwrap()),
        ["jean.dupont@x.fr"]
    );
    assert_eq!(
        names(store.search("dupont".into(), 20).await.unwrap()),
        Vec::<String>::new()
    );
    assert!(
        store.search("_".into(), 20).await.unwrap().is_empty(),
        "'_' matched as a wildcard"
    );
    assert_eq!(store.search("j".into(), 1).await.unwrap().len(), 1);
}

async fn device_sets_follow_registrations_and_revocations(store: &dyn Store) {
    register(store, "p@x.fr", 12, 70, 10).await.unwrap();
    register(store, "q@x.fr", 13, 71, 10).await.unwrap();
    let to_q = |id: u8| send("p@x.fr", 70, id, &[("q@x.fr", 71)]);
    assert!(matches!(
        store.send(to_q(1)).await.unwrap(),
        SendOutcome::Accepted(_)
    ));
    // A device added after the relay last looked must be addressed.
    register(store, "q@x.fr", 13, 72, 10).await.unwrap();
    assert_eq!(
        store.send(to_q(2)).await.unwrap(),
        SendOutcome::Stale(vec![StaleAccount {
            handle: "q@x.fr".into(),
            missing: vec![DeviceId([72; 16])],
            extra: vec![],
        }])
    );
    let both = send("p@x.fr", 70, 3, &[("q@x.fr", 71), ("q@x.fr", 72)]);
    assert!(matches!(
        store.send(both.clone()).await.unwrap(),
        SendOutcome::Accepted(_)
    ));
    // A revoked account has no devices any more.
    store.revoke("q@x.fr".into(), 20).await.unwrap();
    let again = send("p@x.fr", 70, 4, &[("q@x.fr", 71), ("q@x.fr", 72)]);
    assert!(
        matches!(store.send(again).await.unwrap(), SendOutcome::Stale(ref s) if s[0].extra.len() == 2)
    );
}

/// Three accounts of two devices each; the sender is device 80 of g1.
async fn group_members(store: &dyn Store) {
    for (handle, key, devices) in [
        ("g1@x.fr", 20, [80, 81]),
        ("g2@x.fr", 21, [82, 83]),
        ("g3@x.fr", 22, [84, 85]),
    ] {
        for device in devices {
            register(store, handle, key, device, 10).await.unwrap();
        }
    }
}

const GROUP: [(&str, &[u8]); 3] = [
    ("g1@x.fr", &[81]),
    ("g2@x.fr", &[82, 83]),
    ("g3@x.fr", &[84, 85]),
];

async fn group_sends_store_one_payload_until_the_last_ack(store: &dyn Store) {
    group_members(store).await;
    let outcome = store
        .group_send(group("g1@x.fr", 80, 1, &GROUP))
        .await
        .unwrap();
    assert_eq!(outcome, accepted(&[81, 82, 83, 84, 85], &[]));
    assert_eq!(store.payloads_total().await.unwrap(), 1, "not stored once");
    assert_eq!(store.queued_total().await.unwrap(), 5);
    let mut seqs = Vec::new();
    for device in [81, 82, 83, 84, 85] {
        let queued = store.pending(DeviceId([device; 16]), 0, 10).await.unwrap();
        assert_eq!(queued.len(), 1, "device {device}");
        let copy = &queued[0];
        assert_eq!(
            (
                copy.sender.as_str(),
                copy.sender_device,
                copy.payload.as_slice(),
                copy.accepted_at_ms
            ),
            ("g1@x.fr", DeviceId([80; 16]), [1u8; 300].as_slice(), 1_000)
        );
        seqs.push(copy.seq);
    }
    // A 1:1 send afterwards comes after it in the queue.
    let one = send(
        "g1@x.fr",
        80,
        2,
        &[("g2@x.fr", 82), ("g2@x.fr", 83), ("g1@x.fr", 81)],
    );
    assert!(matches!(store.send(one).await.unwrap(), SendOutcome::Accepted(d) if d.len() == 3));
    let queue = store.pending(DeviceId([82; 16]), 0, 10).await.unwrap();
    assert_eq!(
        queue.iter().map(|c| c.payload[0]).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(store.payloads_total().await.unwrap(), 4);
    // Each device acks its own entry; the payload stays until the last one.
    for (device, seq) in [81u8, 82, 83, 84, 85].into_iter().zip(&seqs) {
        assert_eq!(
            store.payloads_total().await.unwrap(),
            4,
            "gone before device {device} acked"
        );
        assert!(store.ack(DeviceId([device; 16]), *seq).await.unwrap());
        assert!(
            !store.ack(DeviceId([device; 16]), *seq).await.unwrap(),
            "acked twice"
        );
    }
    assert_eq!(
        store.payloads_total().await.unwrap(),
        3,
        "the group payload outlived its last ack"
    );
    assert_eq!(store.queued_total().await.unwrap(), 3);
    assert!(
        store
            .pending(DeviceId([84; 16]), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn group_sends_check_every_device_set(store: &dyn Store) {
    group_members(store).await;
    let stale = |handle: &str, missing: &[u8], extra: &[u8]| StaleAccount {
        handle: handle.into(),
        missing: missing.iter().map(|d| DeviceId([*d; 16])).collect(),
        extra: extra.iter().map(|d| DeviceId([*d; 16])).collect(),
    };
    let cases: [(Addressed<'_>, Vec<StaleAccount>); 4] = [
        // A member's device missing.
        (
            &[
                ("g1@x.fr", &[81]),
                ("g2@x.fr", &[82]),
                ("g3@x.fr", &[84, 85]),
            ],
            vec![stale("g2@x.fr", &[83], &[])],
        ),
        // A device the member does not have.
        (
            &[
                ("g1@x.fr", &[81]),
                ("g2@x.fr", &[82, 83]),
                ("g3@x.fr", &[84, 85, 99]),
            ],
            vec![stale("g3@x.fr", &[], &[99])],
        ),
        // The sender's other device, not named at all, or named with the sender's own.
        (
            &[("g2@x.fr", &[82, 83]), ("g3@x.fr", &[84, 85])],
            vec![stale("g1@x.fr", &[81], &[])],
        ),
        (
            &[
                ("g1@x.fr", &[80, 81]),
                ("g2@x.fr", &[82, 83]),
                ("ghost@x.fr", &[7]),
            ],
            vec![stale("g1@x.fr", &[], &[80]), stale("ghost@x.fr", &[], &[7])],
        ),
    ];
    for (id, (to, expected)) in (1..).zip(cases) {
        assert_eq!(
            store
                .group_send(group("g1@x.fr", 80, id, to))
                .await
                .unwrap(),
            GroupSendOutcome::Stale(expected)
        );
    }
    assert_eq!(
        store.payloads_total().await.unwrap(),
        0,
        "a stale group send stored something"
    );
    assert_eq!(store.queued_total().await.unwrap(), 0);
    // A stale id may be used again once the devices are right; then it is spent,
    // for group sends and 1:1 sends alike.
    let right = group("g1@x.fr", 80, 1, &GROUP);
    assert_eq!(
        store.group_send(right.clone()).await.unwrap(),
        accepted(&[81, 82, 83, 84, 85], &[])
    );
    assert_eq!(store.group_send(right).await.unwrap(), accepted(&[], &[]));
    let same_id = send("g1@x.fr", 80, 1, &[("g1@x.fr", 81)]);
    assert_eq!(
        store.send(same_id).await.unwrap(),
        SendOutcome::Accepted(vec![])
    );
    assert_eq!(
        store.payloads_total().await.unwrap(),
        1,
        "a repeated id stored again"
    );
    assert_eq!(store.queued_total().await.unwrap(), 5);
    // Another device of the sender has its own id space.
    let from_81 = group(
        "g1@x.fr",
        81,
        1,
        &[
            ("g1@x.fr", &[80]),
            ("g2@x.fr", &[82, 83]),
            ("g3@x.fr", &[84, 85]),
        ],
    );
    assert_eq!(
        store.group_send(from_81).await.unwrap(),
        accepted(&[80, 82, 83, 84, 85], &[])
    );
}

async fn group_sends_skip_full_queues(store: &dyn Store) {
    group_members(store).await;
    // Device 84 is away: three 1:1 sends fill its queue (the suite's cap is 3).
    for id in 1..=3 {
        let to = send(
            "g1@x.fr",
            80,
            id,
            &[("g3@x.fr", 84), ("g3@x.fr", 85), ("g1@x.fr", 81)],
        );
        assert!(matches!(
            store.send(to).await.unwrap(),
            SendOutcome::Accepted(_)
        ));
        for device in [85, 81] {
            let seq = store.pending(DeviceId([device; 16]), 0, 1).await.unwrap()[0].seq;
            assert!(store.ack(DeviceId([device; 16]), seq).await.unwrap());
        }
    }
    let outcome = store
        .group_send(group("g1@x.fr", 80, 9, &GROUP))
        .await
        .unwrap();
    assert_eq!(outcome, accepted(&[81, 82, 83, 85], &[("g3@x.fr", &[84])]));
    for device in [81, 82, 83, 85] {
        let queued = store.pending(DeviceId([device; 16]), 0, 10).await.unwrap();
        assert_eq!(
            queued.iter().map(|c| c.payload[0]).collect::<Vec<_>>(),
            [9],
            "device {device}"
        );
    }
    assert_eq!(
        store
            .pending(DeviceId([84; 16]), 0, 10)
            .await
            .unwrap()
            .len(),
        3
    );
    // Every addressed queue full: accepted, nothing stored, the id spent.
    for id in 10..=11 {
        store
            .group_send(group("g1@x.fr", 80, id, &GROUP))
            .await
            .unwrap();
    }
    let all_full = store
        .group_send(group("g1@x.fr", 80, 12, &GROUP))
        .await
        .unwrap();
    assert_eq!(all_full, accepted(&[], &GROUP));
    assert_eq!(store.payloads_total().await.unwrap(), 3 + 3);
    assert_eq!(
        store
            .group_send(group("g1@x.fr", 80, 12, &GROUP))
            .await
            .unwrap(),
        accepted(&[], &[])
    );
}

async fn group_payloads_go_with_expiry_and_revocation(store: &dyn Store) {
    group_members(store).await;
    store
        .group_send(group("g1@x.fr", 80, 1, &GROUP))
        .await
        .unwrap();
    // A revoked member's entries go; the payload stays for the others.
    store.revoke("g3@x.fr".into(), 20).await.unwrap().unwrap();
    assert_eq!(store.queued_total().await.unwrap(), 3);
    assert_eq!(store.payloads_total().await.unwrap(), 1);
    let seq = store.pending(DeviceId([81; 16]), 0, 1).await.unwrap()[0].seq;
    assert!(store.ack(DeviceId([81; 16]), seq).await.unwrap());
    // Expiry takes the remaining entries (two devices) and the payload.
    let retention = StoreLimits::default().retention_ms;
    assert_eq!(store.expire(1_000 + retention - 1).await.unwrap(), 0);
    assert_eq!(store.expire(1_000 + retention + 1).await.unwrap(), 2);
    assert_eq!(store.queued_total().await.unwrap(), 0);
    assert_eq!(store.payloads_total().await.unwrap(), 0);
    assert!(
        store
            .pending(DeviceId([82; 16]), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A revocation that removes the last entries removes the payload.
    let only_g2 = group(
        "g1@x.fr",
        80,
        2,
        &[("g1@x.fr", &[81]), ("g2@x.fr", &[82, 83])],
    );
    assert_eq!(
        store.group_send(only_g2).await.unwrap(),
        accepted(&[81, 82, 83], &[])
    );
    let seq = store.pending(DeviceId([81; 16]), 0, 1).await.unwrap()[0].seq;
    assert!(store.ack(DeviceId([81; 16]), seq).await.unwrap());
    store.revoke("g2@x.fr".into(), 30).await.unwrap().unwrap();
    assert_eq!(store.payloads_total().await.unwrap(), 0);
}

async fn acks_in_one_batch_count_each_copy_once(store: &dyn Store) {
    group_members(store).await;
    store
        .group_send(group("g1@x.fr", 80, 1, &GROUP))
        .await
        .unwrap();
    let one = send(
        "g1@x.fr",
        80,
        2,
        &[("g2@x.fr", 82), ("g2@x.fr", 83), ("g1@x.fr", 81)],
    );
    assert!(matches!(
        store.send(one).await.unwrap(),
        SendOutcome::Accepted(_)
    ));
    let mut acks = Vec::new();
    for device in [81, 82, 83, 84, 85] {
        for copy in store.pending(DeviceId([device; 16]), 0, 10).await.unwrap() {
            acks.push((DeviceId([device; 16]), copy.seq));
        }
    }
    assert_eq!(acks.len(), 8);
    let (_, seq) = acks[0];
    // Twice the same, and one naming the wrong device: not counted.
    acks.push(acks[0]);
    acks.push((DeviceId([80; 16]), seq));
    // All but device 85's group copy.
    let last = acks.iter().position(|a| a.0 == DeviceId([85; 16])).unwrap();
    let kept = acks.remove(last);
    assert_eq!(store.ack_all(acks).await.unwrap(), 7);
    assert_eq!(store.queued_total().await.unwrap(), 1);
    assert_eq!(
        store.payloads_total().await.unwrap(),
        1,
        "the group payload went early"
    );
    let queued = |handle: &str| {
        let handle = handle.to_owned();
        async move {
            store
                .list_devices(handle)
                .await
                .unwrap()
                .unwrap()
                .iter()
                .map(|d| d.queued)
                .sum::<u64>()
        }
    };
    assert_eq!((queued("g2@x.fr").await, queued("g3@x.fr").await), (0, 1));
    assert_eq!(store.ack_all(vec![kept]).await.unwrap(), 1);
    assert_eq!(store.payloads_total().await.unwrap(), 0);
    assert_eq!(store.queued_total().await.unwrap(), 0);
}

macro_rules! store_suite {
    ($backend:ident, $limits:expr, $open:expr) => {
        mod $backend {
            use super::*;
            async fn store() -> (tempfile::TempDir, Box<dyn Store>) {
                let dir = tempfile::tempdir().unwrap();
                let open: fn(&std::path::Path, StoreLimits) -> Box<dyn Store> = $open;
                let store = open(dir.path(), $limits);
                (dir, store)
            }
            #[tokio::test]
            async fn invitations() {
                let (_d, s) = store().await;
                invitations_bind_an_identity_once(&*s).await;
            }
            #[tokio::test]
            async fn bundles() {
                let (_d, s) = store().await;
                bundles_consume_one_time_keys_exactly_once(&*s).await;
            }
            #[tokio::test]
            async fn prekey_cap() {
                let (_d, s) = store().await;
                prekey_uploads_respect_the_cap_atomically(&*s).await;
            }
            #[tokio::test]
            async fn sends() {
                let (_d, s) = store().await;
                sends_check_devices_and_are_idempotent(&*s).await;
            }
            #[tokio::test]
            async fn queues() {
                let (_d, s) = store().await;
                queues_deliver_in_order_and_ack_and_expire(&*s).await;
            }
            #[tokio::test]
            async fn full_queues() {
                let (_d, s) = store().await;
                full_queues_refuse_whole_sends(&*s).await;
            }
            #[tokio::test]
            async fn revocation() {
                let (_d, s) = store().await;
                revocation_drops_everything_but_the_record(&*s).await;
            }
            #[tokio::test]
            async fn device_sets() {
                let (_d, s) = store().await;
                device_sets_follow_registrations_and_revocations(&*s).await;
            }
            #[tokio::test]
            async fn group_sends() {
                let (_d, s) = store().await;
                group_sends_store_one_payload_until_the_last_ack(&*s).await;
            }
            #[tokio::test]
            async fn group_device_sets() {
                let (_d, s) = store().await;
                group_sends_check_every_device_set(&*s).await;
            }
            #[tokio::test]
            async fn group_full_queues() {
                let (_d, s) = store().await;
                group_sends_skip_full_queues(&*s).await;
            }
            #[tokio::test]
            async fn group_expiry_and_revocation() {
                let (_d, s) = store().await;
                group_payloads_go_with_expiry_and_revocation(&*s).await;
            }
            #[tokio::test]
            async fn ack_batches() {
                let (_d, s) = store().await;
                acks_in_one_batch_count_each_copy_once(&*s).await;
            }
            #[tokio::test]
            async fn search() {
                let (_d, s) = store().await;
                search_matches_prefixes_literally(&*s).await;
            }
        }
    };
}

store_suite!(
    sqlite,
    StoreLimits {
        max_queue_count: 3,
        ..StoreLimits::default()
    },
    |dir, limits| Box::new(SqliteStore::open(dir, limits).unwrap())
);

/// The `revoke` command runs in its own process, with its own connection: the
/// serving relay's copy of device sets must notice its commit.
#[tokio::test]
async fn sqlite_sees_a_revocation_committed_by_another_connection() {
    let dir = tempfile::tempdir().unwrap();
    let relay = SqliteStore::open(dir.path(), StoreLimits::default()).unwrap();
    register(&relay, "p@x.fr", 12, 70, 10).await.unwrap();
    register(&relay, "q@x.fr", 13, 71, 10).await.unwrap();
    let to_q = |id: u8| send("p@x.fr", 70, id, &[("q@x.fr", 71)]);
    assert!(matches!(
        relay.send(to_q(1)).await.unwrap(),
        SendOutcome::Accepted(_)
    ));
    let command = SqliteStore::open(dir.path(), StoreLimits::default()).unwrap();
    command.revoke("q@x.fr".into(), 20).await.unwrap();
    assert!(
        matches!(relay.send(to_q(2)).await.unwrap(), SendOutcome::Stale(ref s) if s[0].extra == [DeviceId([71; 16])])
    );
}

/// A relay upgraded with copies still queued (schema 2, one row per copy)
/// delivers them after the upgrade, and delivery ids keep growing.
#[tokio::test]
async fn sqlite_keeps_queued_copies_across_the_shared_payload_migration() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path(), StoreLimits::default()).unwrap();
        register(&store, "p@x.fr", 12, 70, 10).await.unwrap();
        register(&store, "q@x.fr", 13, 71, 10).await.unwrap();
    }
    // Back to schema 2, as the previous relay left it: two copies queued for
    // device 71, the highest delivery id ever given 50.
    let conn = rusqlite::Connection::open(dir.path().join("relay.sqlite3")).unwrap();
    conn.execute_batch(
        "DROP TABLE queue_entries; DROP TABLE payloads; DELETE FROM sqlite_sequence;
         CREATE TABLE queue (
             seq INTEGER PRIMARY KEY AUTOINCREMENT, device_id BLOB NOT NULL,
             sender_handle TEXT NOT NULL, sender_device BLOB NOT NULL,
             accepted_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, payload BLOB NOT NULL) STRICT;
         CREATE INDEX queue_device ON queue (device_id, seq);
         CREATE INDEX queue_expiry ON queue (expires_at);
         PRAGMA user_version = 2;",
    )
    .unwrap();
    for (seq, byte) in [(40, 1u8), (41, 2)] {
        conn.execute(
            "INSERT INTO queue VALUES (?1, ?2, 'p@x.fr', ?3, 5, 99999999999, ?4)",
            rusqlite::params![seq, [71u8; 16], [70u8; 16], vec![byte; 3]],
        )
        .unwrap();
    }
    conn.execute(
        "UPDATE sqlite_sequence SET seq = 50 WHERE name = 'queue'",
        [],
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open(dir.path(), StoreLimits::default()).unwrap();
    let device = DeviceId([71; 16]);
    let queued = store.pending(device, 0, 10).await.unwrap();
    assert_eq!(
        queued
            .iter()
            .map(|c| (c.seq, c.sender.as_str(), c.payload.clone()))
            .collect::<Vec<_>>(),
        [(40, "p@x.fr", vec![1; 3]), (41, "p@x.fr", vec![2; 3])]
    );
    assert!(matches!(
        store
            .send(send("p@x.fr", 70, 1, &[("q@x.fr", 71)]))
            .await
            .unwrap(),
        SendOutcome::Accepted(_)
    ));
    let after = store.pending(device, 41, 10).await.unwrap();
    assert!(after[0].seq > 50, "delivery id {} reused", after[0].seq);
    assert!(store.ack(device, 40).await.unwrap());
    assert_eq!(store.payloads_total().await.unwrap(), 2);
}
