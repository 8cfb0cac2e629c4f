//! Known answers for section 9 (vectors from `tests/kat/gen_kat.py`): the OPAQUE key
//! stretching, the vault, the mailbox state, a history segment and the device-bound
//! relay authentication. OPAQUE itself is randomized; `tests/opaque.rs` covers it.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use opaque_ke::{
    generic_array::{GenericArray, typenum::U64},
    ksf::Ksf,
};
use zeroize::Zeroizing;

use super::kat::{arr, bytes, text};
use crate::{
    AccountSettings, Device, DeviceId, ExportKey, HistoryKey, MailboxKey, SegmentHeader, SegmentId,
    VaultContents,
    identity::device_cert::DeviceCertificate,
    identity::relay_auth::RelayChallenge,
    opaque::ksf::OpaqueKsf,
    roaming::segment_header::encode_entries,
    types::{curve25519::X25519KeyPair, ed25519::Ed25519SigningKey},
};

fn key32(name: &str) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(arr(name))
}

#[test]
fn opaque_key_stretching_is_argon2id_with_the_normative_cost() {
    let input: GenericArray<u8, U64> = GenericArray::clone_from_slice(&bytes("opaque.ksf_input"));
    let output = OpaqueKsf::default().hash(input).unwrap();
    assert_eq!(output[..], bytes("opaque.ksf_output")[..]);
}

fn vault_contents() -> VaultContents {
    VaultContents {
        account: crate::Account {
            aik: Ed25519SigningKey::from_seed(&arr("vault.aik_seed")),
        },
        history_key: HistoryKey(key32("vault.history_key")),
        retired_history_keys: vec![HistoryKey(key32("vault.retired_history_key"))],
        mailbox_key: MailboxKey(key32("vault.mailbox_key")),
        settings: AccountSettings {
            display_name: "Élodie Martin".into(),
            language: "fr".into(),
            lock_delay_s: 300,
        },
        unknown: Vec::new(),
    }
}

#[test]
fn vault_matches_reference() {
    let handle = text("vault.handle");
    let vk = ExportKey(Zeroizing::new(arr("vault.export_key"))).vault_key();
    assert_eq!(vk.0[..], bytes("vault.vk")[..]);
    let contents = vault_contents();
    assert_eq!(
        contents.to_bytes().unwrap()[..],
        bytes("vault.contents")[..]
    );
    let sealed = vk
        .seal_with_nonce(handle, 3, &contents, &arr("vault.nonce"))
        .unwrap();
    assert_eq!(sealed, bytes("vault.sealed"));
    let opened = vk.open(handle, &bytes("vault.sealed")).unwrap();
    assert_eq!(opened.version, 3);
    assert_eq!(
        opened.value.to_bytes().unwrap()[..],
        bytes("vault.contents")[..]
    );
    assert_eq!(opened.value.settings, contents.settings);
}

#[test]
fn vault_keeps_entries_it_does_not_know() {
    // A later version added key 20 (a text) and key 7 (a map): this one keeps both,
    // in key order, when it writes the vault back.
    let mut known = bytes("vault.contents");
    known[0] = 0xa9; // map of 9 entries
    let extra_20 = [0x14, 0x63, b'n', b'e', b'w'];
    let extra_7 = [0x07, 0xa1, 0x01, 0x80];
    let input = [&known[..], &extra_20, &extra_7].concat();
    let contents = VaultContents::from_bytes(&input).unwrap();
    let expected = [&known[..], &extra_7, &extra_20].concat();
    assert_eq!(contents.to_bytes().unwrap()[..], expected[..]);
    // Duplicates, missing entries, trailing bytes and indefinite maps are refused.
    let duplicate = [&known[..], &extra_7, &extra_7].concat();
    assert!(VaultContents::from_bytes(&duplicate).is_err());
    assert!(VaultContents::from_bytes(&known).is_err()); // says 9 entries, has 7
    let mut trailing = bytes("vault.contents");
    trailing.push(0);
    assert!(VaultContents::from_bytes(&trailing).is_err());
    let mut indefinite = bytes("vault.contents");
    indefinite[0] = 0xbf;
    indefinite.push(0xff);
    assert!(VaultContents::from_bytes(&indefinite).is_err());
    let mut missing = bytes("vault.contents");
    missing[0] = 0xa6;
    let without_retired = missing.len() - 36;
    missing.truncate(without_retired);
    assert_eq!(
        VaultContents::from_bytes(&missing)
            .unwrap()
            .retired_history_keys
            .len(),
        0
    );
    missing[0] = 0xa5;
    assert!(VaultContents::from_bytes(&missing[..missing.len() - 4]).is_err());
}

#[test]
fn mailbox_state_matches_reference() {
    let mk = MailboxKey(key32("vault.mailbox_key"));
    let handle = text("vault.handle");
    let sealed = mk
        .seal_with_nonce(handle, 9, &bytes("mailbox.state"), &arr("mailbox.nonce"))
        .unwrap();
    assert_eq!(sealed, bytes("mailbox.sealed"));
    let opened = mk.open(handle, &sealed).unwrap();
    assert_eq!(
        (opened.version, &opened.value[..]),
        (9, &bytes("mailbox.state")[..])
    );
}

#[test]
fn history_segment_matches_reference() {
    let hk = HistoryKey(key32("vault.history_key"));
    let handle = text("vault.handle");
    let id = SegmentId(arr("segment.id"));
    let (key, nonce) =
        crate::ratchet::message_key::expand(&hk.0, &[&b"Estafette/v1/history"[..], &id.0].concat());
    assert_eq!(key[..], bytes("segment.key")[..]);
    assert_eq!(nonce[..], bytes("segment.nonce")[..]);
    let header = SegmentHeader {
        first: 5,
        last: 5,
        generation: 0,
    };
    let entry = [&[0x67][..], b"bonjour"].concat();
    let entries = encode_entries(&header, &[&entry]).unwrap();
    assert_eq!(entries[..], bytes("segment.entries")[..]);
    let sealed = hk.seal_padded(handle, &id, &entries).unwrap();
    assert_eq!(sealed, bytes("segment.sealed"));
    let opened = hk.open_segment(handle, &bytes("segment.sealed")).unwrap();
    assert_eq!(opened.id, id);
    assert_eq!(opened.header, header);
    assert_eq!(opened.entries().collect::<Vec<_>>(), vec![&entry[..]]);
}

#[test]
fn relay_auth_dik_matches_reference() {
    let dik = X25519KeyPair::from_secret_bytes(arr("relay_dik.dik_secret"));
    let aik = Ed25519SigningKey::from_seed(&arr("vault.aik_seed"));
    let device_id = DeviceId(arr("relay_dik.device_id"));
    let device = Device {
        certificate: DeviceCertificate::issue(&aik, device_id, dik.public(), 0),
        dik,
    };
    let relay = RelayChallenge::from_parts_for_test(
        arr("relay_dik.challenge"),
        arr("relay_dik.relay_secret"),
    );
    let origin = text("relay_dik.origin");
    let mac = device
        .relay_auth_mac(relay.challenge(), &relay.public_key(), origin)
        .unwrap();
    assert_eq!(mac[..], bytes("relay_dik.mac")[..]);
    relay
        .verify_mac(device.certificate(), origin, &arr("relay_dik.mac"))
        .unwrap();
}
