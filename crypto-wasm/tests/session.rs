//! Session setup and messaging as two peers would observe them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{NOW, Party, handshake};
use estafette_crypto::{
    Account, Device, DeviceId, Error, MAX_SKIP, MessageKind, PreKeyBundle, PreKeyMessage,
    PreKeyStore, RatchetMessage, Session, X25519PublicKey,
};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[test]
fn handshake_then_both_directions() {
    let alice = Party::new(5, 5);
    let mut bob = Party::new(5, 5);
    let (mut a, mut b) = handshake(&alice, &mut bob);
    assert_eq!(
        b.remote_certificate().account_key(),
        &alice.account.public_key()
    );
    assert_eq!(
        a.remote_certificate().account_key(),
        &bob.account.public_key()
    );
    // Until Bob answers, Alice keeps sending PreKeyMessages, which Bob's session accepts.
    assert!(a.is_awaiting_reply());
    let second = a.encrypt(b"second").unwrap();
    assert_eq!(MessageKind::of(&second), Some(MessageKind::PreKey));
    assert_eq!(&b.decrypt(&second).unwrap()[..], b"second");
    let reply = b.encrypt(b"reply").unwrap();
    assert_eq!(MessageKind::of(&reply), Some(MessageKind::Ratchet));
    assert_eq!(&a.decrypt(&reply).unwrap()[..], b"reply");
    assert!(!a.is_awaiting_reply());
    let third = a.encrypt(b"third").unwrap();
    assert_eq!(MessageKind::of(&third), Some(MessageKind::Ratchet));
    assert_eq!(&b.decrypt(&third).unwrap()[..], b"third");
}

#[test]
fn one_time_prekeys_are_consumed_and_their_replay_refused() {
    let alice = Party::new(0, 0);
    let mut bob = Party::new(3, 3);
    let bundle = bob.bundle();
    assert!(bundle.one_time_prekey.is_some() && bundle.kem_prekey.one_time);
    let (_, first) =
        Session::initiate(&alice.device, &bundle, &bob.account.public_key(), b"hi").unwrap();
    Session::respond(&bob.device, &mut bob.prekeys, &first).unwrap();
    assert_eq!(bob.prekeys.one_time_prekey_count(), 2);
    assert_eq!(bob.prekeys.kem_one_time_prekey_count(), 2);
    let before = bob.prekeys.to_bytes();
    let replay = Session::respond(&bob.device, &mut bob.prekeys, &first);
    assert!(
        matches!(replay, Err(Error::ConsumedOneTimePreKey(_))),
        "{replay:?}"
    );
    assert_eq!(before, bob.prekeys.to_bytes());
}

#[test]
fn last_resort_prekey_message_replay_is_refused() {
    let alice = Party::new(0, 0);
    let mut bob = Party::new(0, 0);
    let bundle = bob.bundle();
    assert!(bundle.one_time_prekey.is_none() && !bundle.kem_prekey.one_time);
    let (_, first) =
        Session::initiate(&alice.device, &bundle, &bob.account.public_key(), b"hi").unwrap();
    Session::respond(&bob.device, &mut bob.prekeys, &first).unwrap();
    let before = bob.prekeys.to_bytes();
    let replay = Session::respond(&bob.device, &mut bob.prekeys, &first);
    assert_eq!(replay.err(), Some(Error::PreKeyMessageReplay));
    assert_eq!(before, bob.prekeys.to_bytes());
    // A fresh setup against the same last-resort keys still works.
    let (_, again) =
        Session::initiate(&alice.device, &bundle, &bob.account.public_key(), b"again").unwrap();
    Session::respond(&bob.device, &mut bob.prekeys, &again).unwrap();
}

#[test]
fn unknown_prekeys_are_refused() {
    let alice = Party::new(0, 0);
    let mut bob = Party::new(1, 0);
    let mut bundle = bob.bundle();
    let (_, first) =
        Session::initiate(&alice.device, &bundle, &bob.account.public_key(), b"hi").unwrap();
    let mut message = PreKeyMessage::decode(&first).unwrap();
    message.signed_prekey_id = 99;
    assert_eq!(
        Session::respond(&bob.device, &mut bob.prekeys, &message.encode()).err(),
        Some(Error::UnknownSignedPreKey(99))
    );
    let mut message = PreKeyMessage::decode(&first).unwrap();
    message.one_time_prekey_id = Some(77);
    assert_eq!(
        Session::respond(&bob.device, &mut bob.prekeys, &message.encode()).err(),
        Some(Error::UnknownOneTimePreKey(77))
    );
    // A bundle naming a one-time key Bob never issued: refused, nothing consumed.
    bundle.one_time_prekey = None;
    let mut message = PreKeyMessage::decode(&first).unwrap();
    message.kem_prekey_id = 1234;
    assert_eq!(
        Session::respond(&bob.device, &mut bob.prekeys, &message.encode()).err(),
        Some(Error::UnknownKemPreKey(1234))
    );
    assert_eq!(bob.prekeys.one_time_prekey_count(), 1);
}

#[test]
fn low_order_ephemeral_key_is_refused() {
    let alice = Party::new(0, 0);
    let mut bob = Party::new(1, 1);
    let (_, first) = Session::initiate(
        &alice.device,
        &bob.bundle(),
        &bob.account.public_key(),
        b"hi",
    )
    .unwrap();
    let mut message = PreKeyMessage::decode(&first).unwrap();
    message.base_key = X25519PublicKey::from_bytes([0; 32]);
    assert_eq!(
        Session::respond(&bob.device, &mut bob.prekeys, &message.encode()).err(),
        Some(Error::NonContributoryKey)
    );
    assert_eq!(bob.prekeys.one_time_prekey_count(), 1);
}

#[test]
fn bundle_of_another_account_is_refused() {
    let alice = Party::new(0, 0);
    let bob = Party::new(1, 1);
    let mallory = Account::generate().unwrap();
    let result = Session::initiate(&alice.device, &bob.bundle(), &mallory.public_key(), b"x");
    assert_eq!(result.err(), Some(Error::UnexpectedIdentity));
}

#[test]
fn tampered_bundles_are_refused() {
    let bob = Party::new(1, 1);
    let expected = bob.account.public_key();
    let good = bob.bundle();
    good.verify(&expected).unwrap();
    assert_eq!(PreKeyBundle::decode(&good.encode()).unwrap(), good);

    let mut bad = good.clone();
    bad.signed_prekey.signature[0] ^= 1;
    assert_eq!(
        bad.verify(&expected),
        Err(Error::BadSignature("signed prekey"))
    );
    let mut bad = good.clone();
    bad.signed_prekey.id += 1;
    assert!(bad.verify(&expected).is_err());
    let mut bad = good.clone();
    bad.kem_prekey.one_time = !bad.kem_prekey.one_time;
    assert_eq!(
        bad.verify(&expected),
        Err(Error::BadSignature("ML-KEM prekey"))
    );
    // A signed prekey of another device of the same account is refused too.
    let other = Device::generate(&bob.account, DeviceId::generate().unwrap(), NOW).unwrap();
    let mut bad = good.clone();
    bad.certificate = other.certificate().clone();
    assert!(bad.verify(&expected).is_err());
    // Every byte flip of the encoded bundle fails to decode or to verify, except in the
    // one-time X25519 prekey, which PROTOCOL.md leaves unsigned (as Signal does).
    let bytes = good.encode();
    let opk_start = bytes.len() - 36;
    for i in (0..opk_start).step_by(11) {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x40;
        if let Ok(b) = PreKeyBundle::decode(&flipped) {
            assert!(b.verify(&expected).is_err(), "flip at {i} accepted");
        }
    }
}

/// Flips every byte (twice: low and high bit) of a message whose position is `≡ part (mod
/// parts)`: each flip fails and leaves the session as it was, which then still works.
/// Split in parts so that no single browser test blocks the page for long.
fn byte_flips_of_a_message(part: usize, parts: usize) {
    let alice = Party::new(1, 1);
    let mut bob = Party::new(1, 1);
    let (mut a, mut b) = handshake(&alice, &mut bob);
    let reply = b.encrypt(b"ack").unwrap();
    a.decrypt(&reply).unwrap();
    let message = a.encrypt(&[0x42; 300]).unwrap();
    let before = b.to_bytes();
    for i in (0..message.len()).filter(|i| i % parts == part) {
        for mask in [0x01, 0x80] {
            let mut flipped = message.clone();
            flipped[i] ^= mask;
            assert!(
                b.decrypt(&flipped).is_err(),
                "flip {mask:#x} at {i} accepted"
            );
        }
    }
    assert_eq!(before, b.to_bytes());
    assert_eq!(&b.decrypt(&message).unwrap()[..], &[0x42; 300]);
    let next = b.encrypt(b"fine").unwrap();
    assert_eq!(&a.decrypt(&next).unwrap()[..], b"fine");
}

/// Flips bytes of a PreKeyMessage: every byte of the fixed fields and of the ratchet
/// part, and every 17th byte of the ML-KEM ciphertext, restricted to positions
/// `≡ part (mod parts)`. Each flip is refused and consumes no prekey.
fn byte_flips_of_a_prekey_message(part: usize, parts: usize) {
    let alice = Party::new(0, 0);
    let mut bob = Party::new(1, 1);
    let (_, first) = Session::initiate(
        &alice.device,
        &bob.bundle(),
        &bob.account.public_key(),
        b"hi",
    )
    .unwrap();
    let before = bob.prekeys.to_bytes();
    let ct_start = 1 + 152 + 32 + 12;
    let ct_end = ct_start + 1568;
    for i in (0..first.len())
        .filter(|i| *i < ct_start || *i >= ct_end || i % 17 == 0)
        .filter(|i| i % parts == part)
    {
        let mut flipped = first.clone();
        flipped[i] ^= 0x01;
        assert!(
            Session::respond(&bob.device, &mut bob.prekeys, &flipped).is_err(),
            "flip at {i} accepted"
        );
    }
    assert_eq!(before, bob.prekeys.to_bytes());
    Session::respond(&bob.device, &mut bob.prekeys, &first).unwrap();
}

macro_rules! flip_tests {
    ($f:ident, $parts:literal: $($name:ident = $part:literal),+) => {$(
        #[test]
        fn $name() {
            $f($part, $parts);
        }
    )+};
}

flip_tests!(byte_flips_of_a_message, 4:
    every_byte_flip_of_a_message_fails_and_leaves_the_session_usable_0 = 0,
    every_byte_flip_of_a_message_fails_and_leaves_the_session_usable_1 = 1,
    every_byte_flip_of_a_message_fails_and_leaves_the_session_usable_2 = 2,
    every_byte_flip_of_a_message_fails_and_leaves_the_session_usable_3 = 3);

flip_tests!(byte_flips_of_a_prekey_message, 4:
    byte_flips_of_a_prekey_message_fail_and_consume_nothing_0 = 0,
    byte_flips_of_a_prekey_message_fail_and_consume_nothing_1 = 1,
    byte_flips_of_a_prekey_message_fail_and_consume_nothing_2 = 2,
    byte_flips_of_a_prekey_message_fail_and_consume_nothing_3 = 3);

#[test]
fn replays_fail_and_change_nothing() {
    let alice = Party::new(1, 1);
    let mut bob = Party::new(1, 1);
    let (mut a, mut b) = handshake(&alice, &mut bob);
    let m1 = a.encrypt(b"one").unwrap();
    let m2 = a.encrypt(b"two").unwrap();
    let m3 = a.encrypt(b"three").unwrap();
    b.decrypt(&m1).unwrap();
    b.decrypt(&m3).unwrap(); // m2's key is now stored as skipped
    assert_eq!(b.skipped_key_count(), 1);
    let before = b.to_bytes();
    assert_eq!(b.decrypt(&m1).err(), Some(Error::MessageKeyUnavailable));
    assert_eq!(b.decrypt(&m3).err(), Some(Error::MessageKeyUnavailable));
    assert_eq!(before, b.to_bytes());
    assert_eq!(&b.decrypt(&m2).unwrap()[..], b"two");
    assert_eq!(b.skipped_key_count(), 0);
    let before = b.to_bytes();
    assert!(b.decrypt(&m2).is_err());
    assert_eq!(before, b.to_bytes());
}

#[test]
fn skipping_more_than_max_skip_is_refused() {
    let alice = Party::new(1, 1);
    let mut bob = Party::new(1, 1);
    let (mut a, mut b) = handshake(&alice, &mut bob);
    // Bob answers so Alice's messages are plain RatchetMessages on a fresh chain.
    a.decrypt(&b.encrypt(b"ok").unwrap()).unwrap();
    let messages: Vec<Vec<u8>> = (0..MAX_SKIP + 2)
        .map(|i| a.encrypt(format!("{i}").as_bytes()).unwrap())
        .collect();
    let before = b.to_bytes();
    let too_far = &messages[MAX_SKIP as usize + 1];
    assert_eq!(
        RatchetMessage::decode(too_far).unwrap().header.counter,
        MAX_SKIP + 1
    );
    assert_eq!(
        b.decrypt(too_far).err(),
        Some(Error::TooManySkippedKeys(u64::from(MAX_SKIP) + 1))
    );
    assert_eq!(before, b.to_bytes());
    // Exactly MAX_SKIP skipped keys is allowed, and the skipped ones stay readable.
    assert_eq!(
        &b.decrypt(&messages[MAX_SKIP as usize]).unwrap()[..],
        b"1000"
    );
    assert_eq!(b.skipped_key_count(), MAX_SKIP as usize);
    assert_eq!(&b.decrypt(&messages[3]).unwrap()[..], b"3");
    assert_eq!(&b.decrypt(too_far).unwrap()[..], b"1001");
}

#[test]
fn a_session_restored_from_storage_continues_the_conversation() {
    let alice = Party::new(1, 1);
    let mut bob = Party::new(1, 1);
    let (mut a, mut b) = handshake(&alice, &mut bob);
    let late = a.encrypt(b"late").unwrap();
    let m = a.encrypt(b"on time").unwrap();
    b.decrypt(&m).unwrap();
    a.decrypt(&b.encrypt(b"answer").unwrap()).unwrap();

    let mut a = Session::from_bytes(&a.to_bytes()).unwrap();
    let mut b = Session::from_bytes(&b.to_bytes()).unwrap();
    assert_eq!(
        Session::from_bytes(&b.to_bytes()).unwrap().to_bytes(),
        b.to_bytes()
    );
    assert_eq!(&b.decrypt(&late).unwrap()[..], b"late");
    for i in 0..5 {
        let text = format!("after restore {i}");
        assert_eq!(
            &b.decrypt(&a.encrypt(text.as_bytes()).unwrap()).unwrap()[..],
            text.as_bytes()
        );
        assert_eq!(
            &a.decrypt(&b.encrypt(text.as_bytes()).unwrap()).unwrap()[..],
            text.as_bytes()
        );
    }
}

#[test]
fn identities_and_prekeys_restored_from_storage_still_accept_sessions() {
    let alice = Party::new(0, 0);
    let bob = Party::new(2, 2);
    let account = Account::from_bytes(&bob.account.to_bytes()).unwrap();
    assert_eq!(account.public_key(), bob.account.public_key());
    let device = Device::from_bytes(&bob.device.to_bytes()).unwrap();
    assert_eq!(device.certificate(), bob.device.certificate());
    let mut prekeys = PreKeyStore::from_bytes(&bob.prekeys.to_bytes()).unwrap();
    assert_eq!(prekeys.to_bytes(), bob.prekeys.to_bytes());
    let (_, first) =
        Session::initiate(&alice.device, &bob.bundle(), &account.public_key(), b"hi").unwrap();
    let (_, content) = Session::respond(&device, &mut prekeys, &first).unwrap();
    assert_eq!(&content[..], b"hi");
}

#[test]
fn truncated_or_extended_saved_state_is_refused_without_panic() {
    let alice = Party::new(1, 1);
    let mut bob = Party::new(1, 1);
    let (a, _) = handshake(&alice, &mut bob);
    let saved = a.to_bytes();
    for len in (0..saved.len()).step_by(13) {
        assert!(Session::from_bytes(&saved[..len]).is_err());
    }
    let mut longer = saved.to_vec();
    longer.push(0);
    assert!(Session::from_bytes(&longer).is_err());
    let mut other_version = saved.to_vec();
    other_version[0] = 2;
    assert_eq!(
        Session::from_bytes(&other_version).err(),
        Some(Error::UnsupportedVersion {
            what: "saved session",
            version: 2
        })
    );
    let store = bob.prekeys.to_bytes();
    for len in (0..store.len()).step_by(29) {
        assert!(PreKeyStore::from_bytes(&store[..len]).is_err());
    }
}

#[test]
fn a_prekey_message_of_another_setup_is_not_mixed_into_a_session() {
    let alice = Party::new(0, 0);
    let mut bob = Party::new(2, 2);
    let (_, mut b) = handshake(&alice, &mut bob);
    let (_, other) = Session::initiate(
        &alice.device,
        &bob.bundle(),
        &bob.account.public_key(),
        b"restart",
    )
    .unwrap();
    assert_eq!(b.decrypt(&other).err(), Some(Error::SessionMismatch));
    // The client then starts a new session from it.
    let (_, content) = Session::respond(&bob.device, &mut bob.prekeys, &other).unwrap();
    assert_eq!(&content[..], b"restart");
}
