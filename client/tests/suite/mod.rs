//! Behaviour every `RecordStore` and the `Vault` over it must have. Included by
//! `tests/store.rs` (memory, native) and `tests/browser.rs` (memory and
//! IndexedDB, in Chromium).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use estafette_client::store::{RecordStore, Scan, StoreError, Table, Vault, Write};
use estafette_crypto::Argon2Params;

/// Cheap Argon2 for tests; the normative cost is measured by benchmarks.
pub const FAST: Argon2Params = Argon2Params {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

fn put(table: Table, key: &[u8], value: &[u8]) -> Write {
    Write::Put {
        table,
        key: key.to_vec(),
        value: value.to_vec(),
    }
}

pub async fn records_round_trip_and_scan_in_key_order(store: &impl RecordStore) {
    store
        .write(vec![
            put(Table::Messages, b"conv1/0003", b"c"),
            put(Table::Messages, b"conv1/0001", b"a"),
            put(Table::Messages, b"conv2/0001", b"x"),
            put(Table::Messages, b"conv1/0002", b"b"),
            put(Table::Contacts, b"conv1/0001", b"other table"),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.get(Table::Messages, b"conv1/0002").await.unwrap(),
        Some(b"b".to_vec())
    );
    assert_eq!(store.get(Table::Messages, b"nope").await.unwrap(), None);
    // Several keys read together come back in the order asked, absent ones as None.
    let keys = [
        b"conv2/0001".to_vec(),
        b"nope".to_vec(),
        b"conv1/0001".to_vec(),
    ];
    assert_eq!(
        store.get_many(Table::Messages, &keys).await.unwrap(),
        [Some(b"x".to_vec()), None, Some(b"a".to_vec())]
    );
    assert!(
        store
            .get_many(Table::Messages, &[])
            .await
            .unwrap()
            .is_empty()
    );
    let values =
        |rows: Vec<(Vec<u8>, Vec<u8>)>| rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>();
    let all = store
        .scan(
            Table::Messages,
            Scan {
                prefix: b"conv1/".to_vec(),
                ..Scan::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(values(all), [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    let last_two = store
        .scan(
            Table::Messages,
            Scan {
                prefix: b"conv1/".to_vec(),
                limit: Some(2),
                reverse: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(values(last_two), [b"c".to_vec(), b"b".to_vec()]);
    let everything = store.scan(Table::Messages, Scan::default()).await.unwrap();
    assert_eq!(everything.len(), 4);
    // Binary keys order bytewise, 0xff included.
    store
        .write(vec![
            put(Table::Sessions, &[0xff, 0x00], b"1"),
            put(Table::Sessions, &[0xff, 0xff], b"2"),
        ])
        .await
        .unwrap();
    let high = store
        .scan(
            Table::Sessions,
            Scan {
                prefix: vec![0xff],
                ..Scan::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(values(high), [b"1".to_vec(), b"2".to_vec()]);
    store
        .write(vec![
            Write::Delete {
                table: Table::Messages,
                key: b"conv1/0002".to_vec(),
            },
            put(Table::Outbox, b"k", b"v"),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.get(Table::Messages, b"conv1/0002").await.unwrap(),
        None
    );
    assert_eq!(
        store.get(Table::Outbox, b"k").await.unwrap(),
        Some(b"v".to_vec())
    );
}

pub async fn the_vault_seals_every_record<S: RecordStore>(vault: &Vault<S>) {
    assert!(!vault.is_set_up().await.unwrap());
    assert_eq!(
        vault.get(Table::Messages, b"m").await,
        Err(StoreError::Locked)
    );
    vault
        .create("correct horse battery staple", &FAST)
        .await
        .unwrap();
    let secret = b"Bonjour, ceci est confidentiel";
    vault.put(Table::Messages, b"m1", secret).await.unwrap();
    vault.put(Table::Messages, b"m2", b"second").await.unwrap();
    // What the browser stores does not contain the plaintext.
    let raw = vault
        .raw()
        .get(Table::Messages, b"m1")
        .await
        .unwrap()
        .unwrap();
    assert!(
        !raw.windows(secret.len()).any(|w| w == secret),
        "plaintext visible at rest"
    );
    assert_eq!(
        vault
            .get(Table::Messages, b"m1")
            .await
            .unwrap()
            .unwrap()
            .as_slice(),
        secret
    );

    // Locked: nothing readable. Wrong passphrase: refused. Right one: back.
    vault.lock();
    assert_eq!(
        vault.get(Table::Messages, b"m1").await,
        Err(StoreError::Locked)
    );
    assert_eq!(
        vault.unlock("wrong").await,
        Err(StoreError::WrongPassphrase)
    );
    vault.unlock("correct horse battery staple").await.unwrap();
    assert_eq!(
        vault
            .get(Table::Messages, b"m1")
            .await
            .unwrap()
            .unwrap()
            .as_slice(),
        secret
    );

    // A tampered record and a record moved to another key are reported and
    // skipped; the rest still opens.
    let mut tampered = raw.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    vault
        .raw()
        .write(vec![put(Table::Messages, b"m1", &tampered)])
        .await
        .unwrap();
    vault
        .raw()
        .write(vec![put(Table::Messages, b"m3", &raw)])
        .await
        .unwrap();
    assert!(matches!(
        vault.get(Table::Messages, b"m1").await,
        Err(StoreError::Unreadable { .. })
    ));
    let (opened, unreadable) = vault.scan(Table::Messages, Scan::default()).await.unwrap();
    assert_eq!(
        opened.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        [b"m2".to_vec()]
    );
    assert_eq!(
        unreadable.iter().map(|u| u.key.clone()).collect::<Vec<_>>(),
        [b"m1".to_vec(), b"m3".to_vec()]
    );
    // The same bytes under another table do not open either.
    vault
        .raw()
        .write(vec![put(Table::Contacts, b"m1", &raw)])
        .await
        .unwrap();
    assert!(matches!(
        vault.get(Table::Contacts, b"m1").await,
        Err(StoreError::Unreadable { .. })
    ));
    // Unreadable records stay where they are (nothing silently dropped).
    assert_eq!(
        vault.raw().get(Table::Messages, b"m1").await.unwrap(),
        Some(tampered)
    );

    // A new passphrase opens the same records; the old one no longer does.
    vault
        .change_passphrase(
            "correct horse battery staple",
            "nouvelle phrase secrète",
            &FAST,
        )
        .await
        .unwrap();
    vault.lock();
    assert_eq!(
        vault.unlock("correct horse battery staple").await,
        Err(StoreError::WrongPassphrase)
    );
    vault.unlock("nouvelle phrase secrète").await.unwrap();
    assert_eq!(
        vault
            .get(Table::Messages, b"m2")
            .await
            .unwrap()
            .unwrap()
            .as_slice(),
        b"second"
    );
}

pub async fn erasing_forgets_the_key_and_the_records<S: RecordStore>(vault: &Vault<S>) {
    vault.create("passphrase", &FAST).await.unwrap();
    vault
        .put(Table::Account, b"identity", b"keys")
        .await
        .unwrap();
    vault.erase().await.unwrap();
    assert!(!vault.is_unlocked());
}
