//! Prekeys and the directory: bundles consumed once, the owner told when
//! few are left, uploads within the caps, lookups, searches and their limits.

use std::collections::BTreeSet;

use estafette_crypto::PreKeyBundle;
use estafette_testkit::fixtures::member;
use estafette_wire::{ClientFrame, ErrorCode, ServerFrame};

use super::{Conn, relay};

#[tokio::test]
async fn prekeys_are_consumed_once_then_fall_back_and_the_owner_is_told() {
    let relay = relay().await;
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
        PreKeyBundle::try_from(b)
            .unwrap()
            .verify(&bob.account().public_key())
            .unwrap();
        assert_eq!(
            account.account_key,
            bob.account().public_key().to_bytes().to_vec()
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
    let mut upload = |request: u32, opk: usize, pqopk: usize| ClientFrame::UploadPreKeys {
        request,
        prekeys: Box::new(bob.upload(opk, pqopk).unwrap()),
    };
    bob_conn.send(&upload(7, 100, 0)).await;
    assert_eq!(
        bob_conn.recv().await,
        ServerFrame::PreKeysStored {
            request: 7,
            one_time_prekeys: 100,
            kem_one_time_prekeys: 0
        }
    );
    bob_conn.send(&upload(8, 100, 0)).await;
    assert!(matches!(
        bob_conn.recv().await,
        ServerFrame::PreKeysStored {
            one_time_prekeys: 200,
            ..
        }
    ));
    bob_conn.send(&upload(9, 1, 0)).await;
    assert!(matches!(
        bob_conn.recv().await,
        ServerFrame::Error {
            code: ErrorCode::TooManyPreKeys,
            request: Some(9),
            ..
        }
    ));
    // A forged signature is refused.
    let mut forged = upload(10, 0, 1);
    if let ClientFrame::UploadPreKeys { prekeys, .. } = &mut forged {
        prekeys.kem_one_time[0].signature[0] ^= 1;
    }
    bob_conn.send(&forged).await;
    assert!(matches!(
        bob_conn.recv().await,
        ServerFrame::Error {
            code: ErrorCode::InvalidPreKeys,
            request: Some(10),
            ..
        }
    ));
}

async fn ask(client: &mut Conn, frame: ClientFrame) -> ServerFrame {
    client.send(&frame).await;
    client.recv_skipping_low().await
}

#[tokio::test]
async fn directory_lookup_and_search() {
    let relay = relay().await;
    let (_a, mut alice) = member(&relay, "alice.martin@x.gouv.fr", "Alice Martin", 1).await;
    let _ = member(&relay, "bruno.martin@x.gouv.fr", "Bruno Martin", 1).await;
    let _ = member(&relay, "chloe@y.gouv.fr", "Chloé Petit", 1).await;
    // Invited, not registered: not listed.
    relay.invite("dora@y.gouv.fr", "Dora Martin").await.unwrap();
    let search = |request: u32, query: &str| ClientFrame::Search {
        request,
        query: query.into(),
    };
    let ServerFrame::SearchResults { accounts, .. } = ask(&mut alice, search(1, "mart")).await
    else {
        panic!()
    };
    let handles: Vec<_> = accounts.iter().map(|a| a.handle.as_str()).collect();
    assert_eq!(
        handles,
        ["alice.martin@x.gouv.fr", "bruno.martin@x.gouv.fr"]
    );
    let ServerFrame::SearchResults { accounts, .. } = ask(&mut alice, search(2, "CHL")).await
    else {
        panic!()
    };
    assert_eq!(accounts.len(), 1);
    // Wildcards are literal.
    let ServerFrame::SearchResults { accounts, .. } = ask(&mut alice, search(3, "%%")).await else {
        panic!()
    };
    assert!(accounts.is_empty());
    // Too short a query finds nothing, without asking the store.
    let ServerFrame::SearchResults { accounts, .. } = ask(&mut alice, search(4, " a ")).await
    else {
        panic!()
    };
    assert!(accounts.is_empty());
    let lookup = |request: u32, handle: &str| ClientFrame::Lookup {
        request,
        handle: handle.into(),
    };
    let reply = ask(&mut alice, lookup(4, "chloe@y.gouv.fr")).await;
    assert!(
        matches!(reply, ServerFrame::Account { request: 4, ref account } if account.name == "Chloé Petit" && account.devices.len() == 1)
    );
    let reply = ask(&mut alice, lookup(5, "dora@y.gouv.fr")).await;
    assert!(matches!(
        reply,
        ServerFrame::Error {
            code: ErrorCode::NotFound,
            request: Some(5),
            ..
        }
    ));
    let reply = ask(
        &mut alice,
        ClientFrame::FetchBundles {
            request: 6,
            handle: "dora@y.gouv.fr".into(),
        },
    )
    .await;
    assert!(matches!(
        reply,
        ServerFrame::Error {
            code: ErrorCode::NotFound,
            request: Some(6),
            ..
        }
    ));
}

#[tokio::test]
async fn searches_are_rate_limited() {
    let relay = relay().await;
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
    let relay = relay().await;
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
