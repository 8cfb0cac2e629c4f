//! The vault, the mailbox state, history segments (PROTOCOL.md sections 9.2, 9.4) and the
//! device-bound relay authentication (section 9.6).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{NOW, Party};
use estafette_crypto::{
    Account, AccountSettings, Device, DeviceId, Error, HistoryKey, MailboxKey, RelayChallenge,
    SEGMENT_PADDING_BLOCK, SegmentHeader, SegmentId, VaultContents, X25519PublicKey, plan_restore,
    sealed_version,
};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const HANDLE: &str = "alice@interieur.gouv.fr";
const ORIGIN: &str = "wss://relay.example.gouv.fr";

fn settings() -> AccountSettings {
    AccountSettings {
        display_name: "Alice Martin".into(),
        language: "fr".into(),
        lock_delay_s: 300,
    }
}

/// A vault key as a login would give it: from the export key of a registration.
fn vault_key() -> estafette_crypto::VaultKey {
    let setup = estafette_crypto::ServerSetup::generate().unwrap();
    let (client, request) =
        estafette_crypto::ClientRegistration::start(HANDLE, ORIGIN, b"pass").unwrap();
    let response = setup.start_registration(HANDLE, &request).unwrap();
    client.finish(&response).unwrap().1.vault_key()
}

fn header(first: u64, last: u64, generation: u64) -> SegmentHeader {
    SegmentHeader {
        first,
        last,
        generation,
    }
}

/// Entries are CBOR items of the client's; here CBOR text strings.
fn cbor_text(s: &str) -> Vec<u8> {
    assert!(s.len() < 24);
    [&[0x60 + s.len() as u8][..], s.as_bytes()].concat()
}

#[test]
fn the_vault_opens_for_its_handle_and_version_only() {
    let vk = vault_key();
    let account = Account::generate().unwrap();
    let contents = VaultContents::new(account.clone(), settings()).unwrap();
    let sealed = vk.seal(HANDLE, 7, &contents).unwrap();
    assert_eq!(sealed_version(&sealed).unwrap(), 7);
    let opened = vk.open(HANDLE, &sealed).unwrap();
    assert_eq!(opened.version, 7);
    assert_eq!(opened.value.account.public_key(), account.public_key());
    assert_eq!(opened.value.settings, settings());
    assert_eq!(
        vk.open("bob@culture.gouv.fr", &sealed).unwrap_err(),
        Error::VaultAuthentication
    );
    // The relay cannot pass an old vault off as a newer version.
    let mut renumbered = sealed.clone();
    renumbered[8] ^= 1;
    assert_eq!(
        vk.open(HANDLE, &renumbered).unwrap_err(),
        Error::VaultAuthentication
    );
    for i in 0..sealed.len() {
        let mut flipped = sealed.clone();
        flipped[i] ^= 0x40;
        assert!(vk.open(HANDLE, &flipped).is_err(), "flip at {i} accepted");
    }
    assert!(vk.open(HANDLE, &sealed[..20]).is_err());
    assert!(!format!("{contents:?}").contains("Alice"));
}

#[test]
fn rotation_keeps_old_history_readable_until_it_is_resealed() {
    let mut contents = VaultContents::new(Account::generate().unwrap(), settings()).unwrap();
    let old_segment = contents
        .history_key
        .seal_segment(HANDLE, &header(0, 0, 0), &[&cbor_text("avant")])
        .unwrap();
    let old_mailbox = contents.mailbox_key.seal(HANDLE, 1, b"state").unwrap();
    contents.rotate_keys().unwrap();
    assert!(
        contents
            .history_key
            .open_segment(HANDLE, &old_segment.bytes)
            .is_err()
    );
    assert!(contents.mailbox_key.open(HANDLE, &old_mailbox).is_err());
    // The vault still opens the old segment, through its retired key, after a round trip.
    let vk = vault_key();
    let contents = vk
        .open(HANDLE, &vk.seal(HANDLE, 2, &contents).unwrap())
        .unwrap()
        .value;
    let opened = contents.open_segment(HANDLE, &old_segment.bytes).unwrap();
    assert_eq!(opened.entries().next().unwrap(), &cbor_text("avant")[..]);
    let mut contents = contents;
    contents.forget_retired_history_keys();
    assert_eq!(
        contents
            .open_segment(HANDLE, &old_segment.bytes)
            .unwrap_err(),
        Error::SegmentAuthentication
    );
    for _ in 0..estafette_crypto::MAX_RETIRED_HISTORY_KEYS {
        contents.rotate_keys().unwrap();
    }
    assert_eq!(
        contents.rotate_keys().unwrap_err(),
        Error::TooManyRetiredKeys
    );
}

#[test]
fn the_mailbox_state_is_bound_to_handle_and_version() {
    let mk = MailboxKey::generate().unwrap();
    let sealed = mk.seal(HANDLE, 42, b"sessions and prekeys").unwrap();
    let opened = mk.open(HANDLE, &sealed).unwrap();
    assert_eq!(
        (opened.version, &opened.value[..]),
        (42, &b"sessions and prekeys"[..])
    );
    assert_eq!(sealed_version(&sealed).unwrap(), 42);
    assert_eq!(
        mk.open("bob", &sealed).unwrap_err(),
        Error::MailboxAuthentication
    );
    for i in 0..sealed.len() {
        let mut flipped = sealed.clone();
        flipped[i] ^= 0x01;
        assert!(mk.open(HANDLE, &flipped).is_err(), "flip at {i} accepted");
    }
    let other = MailboxKey::generate().unwrap();
    assert_eq!(
        other.open(HANDLE, &sealed).unwrap_err(),
        Error::MailboxAuthentication
    );
}

#[test]
fn segments_round_trip_are_padded_and_refuse_any_change() {
    let hk = HistoryKey::generate().unwrap();
    let entries = [cbor_text("bonjour"), cbor_text("salut"), vec![0xf6]];
    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    let sealed = hk.seal_segment(HANDLE, &header(3, 3, 0), &refs).unwrap();
    assert_eq!(SegmentId::of(&sealed.bytes).unwrap(), sealed.id);
    assert_eq!((sealed.bytes.len() - 33) % SEGMENT_PADDING_BLOCK, 0);
    let opened = hk.open_segment(HANDLE, &sealed.bytes).unwrap();
    assert_eq!(opened.header, header(3, 3, 0));
    assert_eq!(opened.entries().collect::<Vec<_>>(), refs);
    // A fresh id each time, so never the same key and nonce twice.
    let again = hk.seal_segment(HANDLE, &header(3, 3, 0), &refs).unwrap();
    assert_ne!(again.id, sealed.id);
    assert_eq!(
        hk.open_segment("bob", &sealed.bytes).unwrap_err(),
        Error::SegmentAuthentication
    );
    for i in 0..sealed.bytes.len() {
        let mut flipped = sealed.bytes.clone();
        flipped[i] ^= 0x01;
        assert!(
            hk.open_segment(HANDLE, &flipped).is_err(),
            "flip at {i} accepted"
        );
    }
    // Entries must be whole CBOR items, and the range must not be empty.
    assert!(
        hk.seal_segment(HANDLE, &header(0, 0, 0), &[&[0x62, b'a']])
            .is_err()
    );
    assert!(
        hk.seal_segment(HANDLE, &header(0, 0, 0), &[&[0xf6, 0xf6]])
            .is_err()
    );
    assert!(hk.seal_segment(HANDLE, &header(2, 1, 0), &[]).is_err());
    // 4 MiB at most.
    let big = vec![0u8; 4 * 1024 * 1024];
    let item = [&[0x5a][..], &(big.len() as u32).to_be_bytes(), &big].concat();
    assert_eq!(
        hk.seal_segment(HANDLE, &header(0, 0, 0), &[&item])
            .unwrap_err(),
        Error::PlaintextTooLong
    );
}

#[test]
fn a_restore_finds_dropped_resurrected_and_truncated_segments() {
    let id = |n: u8| SegmentId([n; 16]);
    // Drained 0..=4; 1..=3 compacted into one segment of generation 1.
    let all = [
        (id(0), header(0, 0, 0)),
        (id(1), header(1, 1, 0)),
        (id(2), header(2, 2, 0)),
        (id(3), header(3, 3, 0)),
        (id(4), header(4, 4, 0)),
        (id(9), header(1, 3, 1)),
    ];
    let plan = plan_restore(&all, Some(4));
    assert_eq!(plan.ordered, vec![id(0), id(9), id(4)]);
    assert_eq!(plan.superseded.len(), 3);
    assert!(plan.missing.is_empty() && plan.conflicting.is_empty());
    // The relay drops the compacted segment and serves a gap instead.
    let plan = plan_restore(&[all[0], all[4]], Some(4));
    assert_eq!(plan.missing, vec![(1, 3)]);
    // The relay withholds the newest segment: only the head from the mailbox state shows it.
    let plan = plan_restore(&all[..4], Some(4));
    assert_eq!(plan.missing, vec![(4, 4)]);
    assert!(plan_restore(&all[..4], None).missing.is_empty());
    // Two segments of one generation at one position: a conflict, the first kept.
    let plan = plan_restore(&[all[0], (id(7), header(0, 0, 0))], Some(0));
    assert_eq!(plan.ordered, vec![id(0)]);
    assert_eq!(plan.conflicting, vec![id(7)]);
}

#[test]
fn relay_authentication_needs_the_device_key_not_only_the_account_key() {
    let party = Party::new(0, 0);
    let relay = RelayChallenge::generate().unwrap();
    let device = &party.device;
    let signature =
        party
            .account
            .sign_relay_challenge(relay.challenge(), device.device_id(), ORIGIN);
    let mac = device
        .relay_auth_mac(relay.challenge(), &relay.public_key(), ORIGIN)
        .unwrap();
    relay
        .verify(device.certificate(), ORIGIN, &signature, &mac)
        .unwrap();

    // A thief with the AIK certifies its own DIK under the victim device's id: the
    // relay checks against the certificate it has on file, so the MAC fails.
    let forged = Device::generate(&party.account, device.device_id(), NOW).unwrap();
    let forged_mac = forged
        .relay_auth_mac(relay.challenge(), &relay.public_key(), ORIGIN)
        .unwrap();
    assert_eq!(
        relay
            .verify(device.certificate(), ORIGIN, &signature, &forged_mac)
            .unwrap_err(),
        Error::RelayAuthCode
    );
    // Another origin, another challenge.
    assert_eq!(
        relay
            .verify_mac(device.certificate(), "wss://evil.example", &mac)
            .unwrap_err(),
        Error::RelayAuthCode
    );
    let other = RelayChallenge::generate().unwrap();
    assert!(
        other
            .verify(device.certificate(), ORIGIN, &signature, &mac)
            .is_err()
    );
    // A low-order relay key would make the MAC key predictable: refused.
    assert_eq!(
        device
            .relay_auth_mac(
                relay.challenge(),
                &X25519PublicKey::from_bytes([0; 32]),
                ORIGIN
            )
            .unwrap_err(),
        Error::NonContributoryKey
    );
    let _ = DeviceId::generate().unwrap();
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn vault_contents_round_trip(name in ".{0,40}", language in "[a-z]{2,8}", delay in any::<u32>(),
                                     version in any::<u64>(), rotations in 0usize..4) {
            let vk = vault_key_cheap();
            let mut contents = VaultContents::new(Account::generate().unwrap(), AccountSettings {
                display_name: name, language, lock_delay_s: delay,
            }).unwrap();
            for _ in 0..rotations {
                contents.rotate_keys().unwrap();
            }
            let opened = vk.open(HANDLE, &vk.seal(HANDLE, version, &contents).unwrap()).unwrap();
            prop_assert_eq!(opened.version, version);
            prop_assert_eq!(&opened.value.settings, &contents.settings);
            prop_assert_eq!(opened.value.retired_history_keys.len(), rotations);
            prop_assert_eq!(opened.value.account.public_key(), contents.account.public_key());
        }

        #[test]
        fn mailbox_states_round_trip(state in proptest::collection::vec(any::<u8>(), 0..2000), version in any::<u64>()) {
            let mk = MailboxKey::generate().unwrap();
            let opened = mk.open(HANDLE, &mk.seal(HANDLE, version, &state).unwrap()).unwrap();
            prop_assert_eq!(opened.version, version);
            prop_assert_eq!(&opened.value[..], &state[..]);
        }

        #[test]
        fn segments_round_trip(items in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 0..20),
                               first in 0u64..1000, span in 0u64..10, generation in any::<u64>()) {
            // Each entry as a CBOR byte string.
            let entries: Vec<Vec<u8>> = items.iter().map(|item| {
                let mut e = vec![0x59];
                e.extend_from_slice(&(item.len() as u16).to_be_bytes());
                e.extend_from_slice(item);
                e
            }).collect();
            let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
            let hk = HistoryKey::generate().unwrap();
            let head = header(first, first + span, generation);
            let sealed = hk.seal_segment(HANDLE, &head, &refs).unwrap();
            prop_assert_eq!((sealed.bytes.len() - 33) % SEGMENT_PADDING_BLOCK, 0);
            let opened = hk.open_segment(HANDLE, &sealed.bytes).unwrap();
            prop_assert_eq!(opened.header, head);
            prop_assert_eq!(opened.entries().collect::<Vec<_>>(), refs);
        }

        #[test]
        fn restore_plans_are_ordered_and_disjoint(spans in proptest::collection::vec((0u64..50, 0u64..5, 0u64..3), 0..30)) {
            let segments: Vec<(SegmentId, SegmentHeader)> = spans.iter().enumerate()
                .map(|(i, (first, span, generation))| (SegmentId([i as u8; 16]), header(*first, first + span, *generation)))
                .collect();
            let plan = plan_restore(&segments, Some(60));
            prop_assert_eq!(plan.ordered.len() + plan.superseded.len() + plan.conflicting.len(), segments.len());
            let kept: Vec<SegmentHeader> = plan.ordered.iter()
                .map(|id| segments.iter().find(|(s, _)| s == id).unwrap().1).collect();
            for pair in kept.windows(2) {
                prop_assert!(pair[0].last < pair[1].first);
            }
            // Every position up to the head is either kept or reported missing.
            for position in 0..=60u64 {
                let covered = kept.iter().any(|h| h.first <= position && position <= h.last);
                let missing = plan.missing.iter().any(|(a, b)| *a <= position && position <= *b);
                prop_assert!(covered != missing, "position {} covered {} missing {}", position, covered, missing);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary bytes never panic a decoder and never open.
        #[test]
        fn decoders_refuse_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = VaultContents::from_bytes(&bytes);
            let _ = sealed_version(&bytes);
            let _ = SegmentId::of(&bytes);
            for decoded in [
                estafette_crypto::Ke1::from_bytes(&bytes).map(|_| ()),
                estafette_crypto::Ke2::from_bytes(&bytes).map(|_| ()),
                estafette_crypto::Ke3::from_bytes(&bytes).map(|_| ()),
                estafette_crypto::RegistrationRecord::from_bytes(&bytes).map(|_| ()),
                estafette_crypto::ServerSetup::from_bytes(&bytes).map(|_| ()),
            ] {
                // Only the right length can decode.
                prop_assert!(decoded.is_err() || [96, 320, 64, 192, 128].contains(&bytes.len()));
            }
            let mk = MailboxKey::generate().unwrap();
            prop_assert!(mk.open(HANDLE, &bytes).is_err());
            prop_assert!(HistoryKey::generate().unwrap().open_segment(HANDLE, &bytes).is_err());
        }
    }

    /// A vault key without running Argon2 per case: any export key works for the layout.
    fn vault_key_cheap() -> estafette_crypto::VaultKey {
        thread_local!(static KEY: estafette_crypto::VaultKey = vault_key());
        KEY.with(|k| k.clone())
    }
}
