//! Known-answer tests. The expected values in `tests/kat/vectors.txt` were computed by
//! a different implementation (Python: pyca/cryptography and argon2-cffi) following
//! PROTOCOL.md. To regenerate them:
//!
//! ```sh
//! pip install cryptography argon2-cffi
//! python3 crypto-wasm/tests/kat/gen_kat.py > crypto-wasm/tests/kat/vectors.txt
//! ```

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::{
    AccountPublicKey, Argon2Params, DeviceCertificate, DeviceId, SafetyNumber, StorageKey,
    identity::device_cert::DEVICE_CERTIFICATE_LEN,
    message::ratchet_message::{RatchetHeader, RatchetMessage},
    pqxdh::{associated_data, derive_sk},
    ratchet::{chain_key::kdf_ck, message_key::expand, root_key::RootKey},
    types::{curve25519::X25519KeyPair, ed25519::Ed25519SigningKey},
};

const VECTORS: &str = include_str!("../../tests/kat/vectors.txt");

pub(super) fn text(name: &str) -> &'static str {
    VECTORS
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(" = "))
        .unwrap_or_else(|| panic!("vector {name} missing"))
}

pub(super) fn bytes(name: &str) -> Vec<u8> {
    hex::decode(text(name)).unwrap()
}

pub(super) fn arr<const N: usize>(name: &str) -> [u8; N] {
    bytes(name).try_into().unwrap()
}

#[test]
fn root_kdf_matches_reference() {
    let (rk, ck) = RootKey::new(arr("kdf_rk.rk")).advance(&arr("kdf_rk.dh_out"));
    assert_eq!(rk.0[..], bytes("kdf_rk.rk_next")[..]);
    assert_eq!(ck.key[..], bytes("kdf_rk.ck")[..]);
    assert_eq!(ck.index, 0);
}

#[test]
fn chain_kdf_matches_reference() {
    let (ck, mk) = kdf_ck(&arr("kdf_ck.ck"));
    assert_eq!(ck[..], bytes("kdf_ck.ck_next")[..]);
    assert_eq!(mk[..], bytes("kdf_ck.mk")[..]);
    let chain = crate::ratchet::chain_key::ChainKey::new(arr("kdf_ck.ck"), 4);
    let (message_key, next) = chain.step().unwrap();
    assert_eq!(message_key.0[..], bytes("kdf_ck.mk")[..]);
    assert_eq!(next.key[..], bytes("kdf_ck.ck_next")[..]);
    assert_eq!(next.index, 5);
}

#[test]
fn message_key_and_nonce_match_reference() {
    let (key, nonce) = expand(&arr("message_key.mk"), b"Estafette/v1/message-key");
    assert_eq!(key[..], bytes("message_key.key")[..]);
    assert_eq!(nonce[..], bytes("message_key.nonce")[..]);
}

#[test]
fn ratchet_encryption_matches_reference() {
    let mk = crate::ratchet::message_key::MessageKey::new(arr("message_key.mk"));
    let header = RatchetHeader {
        ratchet_key: X25519KeyPair::from_secret_bytes(arr("encrypt.dhs_secret")).public(),
        previous_chain_length: 3,
        counter: 7,
    };
    let ad = bytes("encrypt.ad");
    let mut aad = ad.clone();
    aad.extend_from_slice(&header.encode());
    let padded = crate::pad(&bytes("encrypt.content"));
    let message = RatchetMessage {
        header,
        ciphertext: mk.encrypt(&padded, &aad).unwrap(),
    };
    assert_eq!(message.encode(), bytes("encrypt.message"));
    let decoded = RatchetMessage::decode(&bytes("encrypt.message")).unwrap();
    let content = mk.decrypt(&decoded.ciphertext, &aad).unwrap();
    assert_eq!(
        crate::unpad(&content).unwrap(),
        &bytes("encrypt.content")[..]
    );
}

#[test]
fn pqxdh_shared_key_matches_reference_on_both_sides() {
    let key = |n: &str| X25519KeyPair::from_secret_bytes(arr(&format!("pqxdh.{n}")));
    let (dik_a, ek_a, dik_b, spk_b, opk_b) = (
        key("dik_a"),
        key("ek_a"),
        key("dik_b"),
        key("spk_b"),
        key("opk_b"),
    );
    let ss = arr::<32>("pqxdh.ss");
    // Initiator side.
    let dh1 = dik_a.diffie_hellman(&spk_b.public()).unwrap();
    let dh2 = ek_a.diffie_hellman(&dik_b.public()).unwrap();
    let dh3 = ek_a.diffie_hellman(&spk_b.public()).unwrap();
    let dh4 = ek_a.diffie_hellman(&opk_b.public()).unwrap();
    assert_eq!(
        derive_sk(&[&dh1, &dh2, &dh3, &dh4], &ss)[..],
        bytes("pqxdh.sk_with_opk")[..]
    );
    assert_eq!(
        derive_sk(&[&dh1, &dh2, &dh3], &ss)[..],
        bytes("pqxdh.sk_without_opk")[..]
    );
    // Responder side computes the same outputs from the other halves.
    let r1 = spk_b.diffie_hellman(&dik_a.public()).unwrap();
    let r2 = dik_b.diffie_hellman(&ek_a.public()).unwrap();
    let r3 = spk_b.diffie_hellman(&ek_a.public()).unwrap();
    let r4 = opk_b.diffie_hellman(&ek_a.public()).unwrap();
    assert_eq!(
        derive_sk(&[&r1, &r2, &r3, &r4], &ss)[..],
        bytes("pqxdh.sk_with_opk")[..]
    );
    assert_eq!(
        associated_data(&dik_a.public(), &dik_b.public())[..],
        bytes("pqxdh.ad")[..]
    );
}

#[test]
fn device_certificate_and_prekey_signature_match_reference() {
    let aik = Ed25519SigningKey::from_seed(&arr("cert.aik_seed"));
    let dik = X25519KeyPair::from_secret_bytes(arr("cert.dik_secret"));
    let issued: u64 = text("cert.issued_at_ms").parse().unwrap();
    let device_id = DeviceId(arr("cert.device_id"));
    let cert = DeviceCertificate::issue(&aik, device_id, dik.public(), issued);
    let expected = bytes("cert.encoded");
    assert_eq!(expected.len(), DEVICE_CERTIFICATE_LEN);
    assert_eq!(cert.encode()[..], expected[..]);
    let decoded = DeviceCertificate::decode(&expected).unwrap();
    decoded.verify_for(&aik.public()).unwrap();

    let spk = X25519KeyPair::from_secret_bytes(arr("pqxdh.spk_b"));
    let spk_public = crate::SignedPreKeyPublic {
        id: 5,
        public_key: spk.public(),
        signature: arr("spk.signature"),
    };
    spk_public.verify(&aik.public(), device_id).unwrap();
    assert!(spk_public.verify(&aik.public(), DeviceId([0; 16])).is_err());
}

#[test]
fn safety_number_matches_reference() {
    let alice = Ed25519SigningKey::from_seed(&arr("safety.alice_seed")).public();
    let bob = Ed25519SigningKey::from_seed(&arr("safety.bob_seed")).public();
    let ours = SafetyNumber::compute(
        &alice,
        "alice@interieur.gouv.fr",
        &bob,
        "bob@culture.gouv.fr",
    );
    let theirs = SafetyNumber::compute(
        &bob,
        "bob@culture.gouv.fr",
        &alice,
        "alice@interieur.gouv.fr",
    );
    assert_eq!(ours.digits(), text("safety.number"));
    assert_eq!(ours, theirs);
    assert_eq!(
        ours.qr_payload(),
        format!("ESTAFETTE1:{}", text("safety.number"))
    );
    assert_eq!(
        AccountPublicKey::from_bytes(alice.to_bytes()).unwrap(),
        alice
    );
}

#[test]
fn sealed_record_matches_reference() {
    let key = StorageKey::from_bytes_for_test(arr("record.storage_key"));
    let sealed = key
        .seal_with_nonce(
            "sessions",
            b"device/42",
            b"session state bytes",
            &arr("record.nonce"),
        )
        .unwrap();
    assert_eq!(sealed, bytes("record.sealed"));
    assert_eq!(
        &key.open("sessions", b"device/42", &sealed).unwrap()[..],
        b"session state bytes"
    );
}

#[test]
fn storage_key_wrap_matches_reference() {
    let key = StorageKey::from_bytes_for_test(arr("record.storage_key"));
    let params = Argon2Params {
        memory_kib: 256,
        iterations: 2,
        parallelism: 1,
    };
    let wrapped = key
        .wrap_with(
            b"correct horse battery staple",
            &params,
            &arr("wrap.salt"),
            &arr("record.nonce"),
        )
        .unwrap();
    assert_eq!(wrapped, bytes("wrap.wrapped"));
    let unwrapped = StorageKey::unwrap(&wrapped, b"correct horse battery staple").unwrap();
    assert_eq!(unwrapped.0[..], bytes("record.storage_key")[..]);
}

/// The normative cost (64 MiB, t = 3) is slow in debug builds: run with `--ignored`.
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn normative_kek_matches_reference() {
    let kek = Argon2Params::default()
        .derive_kek(b"correct horse battery staple", &arr("wrap.salt"))
        .unwrap();
    assert_eq!(kek[..], bytes("wrap.kek_normative")[..]);
}

#[test]
fn group_message_key_matches_reference() {
    let (next, mk) = kdf_ck(&arr("group.chain_key"));
    assert_eq!(next[..], bytes("group.chain_key_next")[..]);
    let (key, nonce) = expand(&mk, crate::group::GROUP_MESSAGE_KEY_INFO);
    assert_eq!(key[..], bytes("group.key")[..]);
    assert_eq!(nonce[..], bytes("group.nonce")[..]);
}

#[test]
fn group_distribution_and_message_match_reference() {
    let iteration: u32 = text("group.iteration").parse().unwrap();
    let chain_id: u32 = text("group.chain_id").parse().unwrap();
    let mut chain = crate::SenderChain::from_parts(
        arr("group.group_id"),
        chain_id,
        iteration,
        arr("group.chain_key"),
        &arr("group.signing_seed"),
    );
    let distribution = chain.distribution();
    assert_eq!(distribution.encode()[..], bytes("group.distribution")[..]);
    // Ed25519 signatures are deterministic: the whole message is a known answer.
    let message = chain.encrypt(&bytes("group.content")).unwrap();
    assert_eq!(message, bytes("group.message"));
    let decoded = crate::SenderKeyDistribution::decode(&bytes("group.distribution")).unwrap();
    let mut member = crate::ReceiverChain::new(&decoded);
    assert_eq!(
        member.decrypt(&bytes("group.message")).unwrap()[..],
        bytes("group.content")[..]
    );
}
