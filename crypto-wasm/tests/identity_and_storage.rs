//! Certificates, relay authentication, prekey rotation, safety numbers, padding, keys at rest.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{NOW, Party};
use estafette_crypto::{
    Account, Argon2Params, DeviceCertificate, Error, PADDING_BLOCK, SIGNED_PREKEY_RETENTION_MS,
    SIGNED_PREKEY_ROTATION_MS, SafetyNumber, Session, StorageKey, pad, unpad,
};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const SMALL: Argon2Params = Argon2Params {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

#[test]
fn the_relay_verifies_certificates_from_public_bytes() {
    let party = Party::new(0, 0);
    let bytes = party.device.certificate().encode();
    let cert = DeviceCertificate::decode(&bytes).unwrap();
    cert.verify().unwrap();
    cert.verify_for(&party.account.public_key()).unwrap();
    let mut forged = bytes;
    forged[60] ^= 1; // the device key
    assert_eq!(
        DeviceCertificate::decode(&forged).unwrap().verify(),
        Err(Error::BadSignature("device certificate"))
    );
    assert!(DeviceCertificate::decode(&bytes[..151]).is_err());
}

#[test]
fn relay_challenge_answers_are_bound_to_device_and_origin() {
    let party = Party::new(0, 0);
    let cert = party.device.certificate();
    let challenge = [7u8; 32];
    let origin = "wss://relay.example.gouv.fr";
    let sig = party
        .account
        .sign_relay_challenge(&challenge, cert.device_id(), origin);
    cert.verify_relay_auth(&challenge, origin, &sig).unwrap();
    assert!(
        cert.verify_relay_auth(&challenge, "wss://evil.example", &sig)
            .is_err()
    );
    assert!(cert.verify_relay_auth(&[8u8; 32], origin, &sig).is_err());
    let other = Party::new(0, 0);
    assert!(
        other
            .device
            .certificate()
            .verify_relay_auth(&challenge, origin, &sig)
            .is_err()
    );
}

#[test]
fn rotated_signed_prekeys_serve_late_messages_for_fourteen_days() {
    let alice = Party::new(0, 0);
    let mut bob = Party::new(0, 0);
    let old_bundle = bob.bundle();
    assert!(
        !bob.prekeys
            .needs_rotation(NOW + SIGNED_PREKEY_ROTATION_MS - 1)
    );
    let rotated_at = NOW + SIGNED_PREKEY_ROTATION_MS;
    assert!(bob.prekeys.needs_rotation(rotated_at));
    bob.prekeys.rotate(&bob.account, rotated_at).unwrap();
    assert_ne!(bob.bundle().signed_prekey.id, old_bundle.signed_prekey.id);

    let expected = bob.account.public_key();
    let (_, late) = Session::initiate(&alice.device, &old_bundle, &expected, b"late").unwrap();
    let (_, late2) = Session::initiate(&alice.device, &old_bundle, &expected, b"late").unwrap();
    bob.prekeys
        .prune(rotated_at + SIGNED_PREKEY_RETENTION_MS - 1);
    Session::respond(&bob.device, &mut bob.prekeys, &late).unwrap();
    bob.prekeys.prune(rotated_at + SIGNED_PREKEY_RETENTION_MS);
    let refused = Session::respond(&bob.device, &mut bob.prekeys, &late2);
    assert_eq!(
        refused.err(),
        Some(Error::UnknownSignedPreKey(old_bundle.signed_prekey.id))
    );
    // The new keys work.
    let (_, fresh) = Session::initiate(&alice.device, &bob.bundle(), &expected, b"new").unwrap();
    Session::respond(&bob.device, &mut bob.prekeys, &fresh).unwrap();
}

#[test]
fn safety_numbers_agree_and_change_with_the_key() {
    let (alice, bob) = (Account::generate().unwrap(), Account::generate().unwrap());
    let ours = SafetyNumber::compute(&alice.public_key(), "alice", &bob.public_key(), "bob");
    let theirs = SafetyNumber::compute(&bob.public_key(), "bob", &alice.public_key(), "alice");
    assert_eq!(ours, theirs);
    assert_eq!(ours.digits().len(), 60);
    assert!(ours.digits().bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(ours.groups().len(), 12);
    assert!(ours.groups().iter().all(|g| g.len() == 5));
    assert!(ours.matches_qr_payload(&theirs.qr_payload()));
    assert!(ours.qr_payload().starts_with("ESTAFETTE1:"));
    let impostor = Account::generate().unwrap();
    let other = SafetyNumber::compute(&alice.public_key(), "alice", &impostor.public_key(), "bob");
    assert_ne!(ours, other);
    assert!(!ours.matches_qr_payload(&other.qr_payload()));
    assert!(!ours.matches_qr_payload(ours.digits()));
}

#[test]
fn padding_round_trips_and_refuses_anything_else() {
    for len in [0, 1, 158, 159, 160, 161, 319, 320, 1000] {
        let content = vec![0xAA; len];
        let padded = pad(&content);
        assert_eq!(padded.len() % PADDING_BLOCK, 0);
        assert!(padded.len() > len && padded.len() <= len + PADDING_BLOCK);
        assert_eq!(unpad(&padded).unwrap(), &content[..]);
    }
    assert_eq!(unpad(&[]), Err(Error::Padding));
    assert_eq!(unpad(&[0; 160]), Err(Error::Padding));
    assert_eq!(unpad(&[0x80; 159]), Err(Error::Padding));
    let mut no_marker = vec![0u8; 160];
    no_marker[10] = 0x81;
    assert_eq!(unpad(&no_marker), Err(Error::Padding));
    // 0x80 followed by a whole block of zeros is not what pad() makes.
    let mut too_long = vec![0u8; 320];
    too_long[0] = 0x80;
    assert_eq!(unpad(&too_long), Err(Error::Padding));
}

#[test]
fn sealed_records_open_only_in_their_place_with_their_key() {
    let key = StorageKey::generate().unwrap();
    let sealed = key.seal("messages", b"conv/1", b"secret text").unwrap();
    assert_eq!(sealed[0], 1);
    assert_eq!(
        sealed.len(),
        b"secret text".len() + estafette_crypto::SEALED_RECORD_OVERHEAD
    );
    assert_eq!(
        &key.open("messages", b"conv/1", &sealed).unwrap()[..],
        b"secret text"
    );
    let refused = Err(Error::RecordAuthentication);
    assert_eq!(
        key.open("messages", b"conv/2", &sealed).map(|_| ()),
        refused
    );
    assert_eq!(
        key.open("sessions", b"conv/1", &sealed).map(|_| ()),
        refused
    );
    // The AAD encoding is unambiguous: moving bytes between store name and key fails.
    assert_eq!(
        key.open("messagesc", b"onv/1", &sealed).map(|_| ()),
        refused
    );
    let other = StorageKey::generate().unwrap();
    assert_eq!(
        other.open("messages", b"conv/1", &sealed).map(|_| ()),
        refused
    );
    for i in 0..sealed.len() {
        let mut flipped = sealed.clone();
        flipped[i] ^= 1;
        assert!(key.open("messages", b"conv/1", &flipped).is_err());
    }
    // Two seals of the same record differ (random nonce).
    assert_ne!(
        sealed,
        key.seal("messages", b"conv/1", b"secret text").unwrap()
    );
}

#[test]
fn the_storage_key_unwraps_only_with_the_passphrase() {
    assert_eq!(
        Argon2Params::default(),
        Argon2Params {
            memory_kib: 65536,
            iterations: 3,
            parallelism: 1
        }
    );
    let key = StorageKey::generate().unwrap();
    let sealed = key.seal("s", b"k", b"data").unwrap();
    let wrapped = key.wrap(b"une phrase de passe", &SMALL).unwrap();
    assert_eq!(wrapped.len(), estafette_crypto::WRAPPED_STORAGE_KEY_LEN);
    assert_eq!(StorageKey::wrapped_params(&wrapped).unwrap(), SMALL);
    let unlocked = StorageKey::unwrap(&wrapped, b"une phrase de passe").unwrap();
    assert_eq!(&unlocked.open("s", b"k", &sealed).unwrap()[..], b"data");
    assert_eq!(
        StorageKey::unwrap(&wrapped, b"wrong").err(),
        Some(Error::WrongPassphrase)
    );
    for i in 0..wrapped.len() {
        let mut flipped = wrapped.clone();
        flipped[i] ^= 1;
        assert!(StorageKey::unwrap(&flipped, b"une phrase de passe").is_err());
    }
    let absurd = Argon2Params {
        memory_kib: u32::MAX,
        ..SMALL
    };
    assert_eq!(key.wrap(b"x", &absurd).err(), Some(Error::Argon2Params));
}
