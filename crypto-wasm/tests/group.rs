//! Sender Keys groups (PROTOCOL.md section 6) as members observe them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use estafette_crypto::{
    Error, GROUP_MESSAGE_HEADER_LEN, GroupMessage, MAX_GROUP_SKIPPED_KEYS, ReceiverChain,
    SENDER_KEY_DISTRIBUTION_LEN, SenderChain, SenderKeyDistribution,
};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const GROUP: [u8; 16] = [7; 16];

/// A sender and one member who received its distribution (through the pairwise
/// session in real life: here the bytes round-trip through encode/decode).
fn pair() -> (SenderChain, ReceiverChain) {
    let sender = SenderChain::generate(GROUP, 1).unwrap();
    let bytes = sender.distribution().encode();
    assert_eq!(bytes.len(), SENDER_KEY_DISTRIBUTION_LEN);
    let distribution = SenderKeyDistribution::decode(&bytes).unwrap();
    (sender, ReceiverChain::new(&distribution))
}

#[test]
fn every_member_reads_the_one_ciphertext() {
    let mut sender = SenderChain::generate(GROUP, 1).unwrap();
    let distribution = sender.distribution();
    let mut members: Vec<ReceiverChain> =
        (0..5).map(|_| ReceiverChain::new(&distribution)).collect();
    for n in 0..20 {
        let text = format!("message {n} au groupe");
        let message = sender.encrypt(text.as_bytes()).unwrap();
        let parsed = GroupMessage::parse(&message).unwrap();
        assert_eq!(
            (parsed.group_id, parsed.chain_id, parsed.iteration),
            (GROUP, 1, n)
        );
        for member in &mut members {
            assert_eq!(&member.decrypt(&message).unwrap()[..], text.as_bytes());
        }
    }
}

#[test]
fn a_message_is_padded_and_signed() {
    let (mut sender, _) = pair();
    let message = sender.encrypt(b"x").unwrap();
    // header, 160 padded bytes, tag, signature
    assert_eq!(message.len(), GROUP_MESSAGE_HEADER_LEN + 160 + 16 + 64);
}

#[test]
fn a_replayed_message_fails_and_changes_nothing() {
    let (mut sender, mut member) = pair();
    let first = sender.encrypt(b"un").unwrap();
    let second = sender.encrypt(b"deux").unwrap();
    assert_eq!(&member.decrypt(&first).unwrap()[..], b"un");
    assert_eq!(member.decrypt(&first), Err(Error::MessageKeyUnavailable));
    assert_eq!(&member.decrypt(&second).unwrap()[..], b"deux");
    assert_eq!(member.decrypt(&second), Err(Error::MessageKeyUnavailable));
}

#[test]
fn every_byte_flip_is_refused_and_the_chain_still_works() {
    let (mut sender, mut member) = pair();
    let message = sender.encrypt(b"integre").unwrap();
    for i in 0..message.len() {
        let mut altered = message.clone();
        altered[i] ^= 0x01;
        let before = member.to_bytes();
        assert!(
            member.decrypt(&altered).is_err(),
            "flip at byte {i} accepted"
        );
        assert_eq!(
            member.to_bytes(),
            before,
            "flip at byte {i} changed the chain"
        );
    }
    assert_eq!(&member.decrypt(&message).unwrap()[..], b"integre");
}

#[test]
fn a_forged_signature_is_checked_before_decryption() {
    let (mut sender, mut member) = pair();
    // Someone else who knows the chain key (another member) but not the signing key.
    let (mut impostor, _) = pair();
    let forged_distribution = SenderKeyDistribution {
        signing_key: impostor.distribution().signing_key,
        ..sender.distribution()
    };
    let mut forger = ReceiverChain::new(&forged_distribution);
    let genuine = sender.encrypt(b"vrai").unwrap();
    assert_eq!(
        forger.decrypt(&genuine),
        Err(Error::BadSignature("group message"))
    );
    let fake = impostor.encrypt(b"faux").unwrap();
    // Same group and chain id, other signing key: refused before any decryption.
    assert_eq!(
        member.decrypt(&fake),
        Err(Error::BadSignature("group message"))
    );
    assert_eq!(&member.decrypt(&genuine).unwrap()[..], b"vrai");
}

#[test]
fn another_group_or_chain_is_refused() {
    let (_, mut member) = pair();
    let mut other_group = SenderChain::generate([8; 16], 1).unwrap();
    let mut other_chain = SenderChain::generate(GROUP, 2).unwrap();
    assert_eq!(
        member.decrypt(&other_group.encrypt(b"a").unwrap()),
        Err(Error::GroupMismatch)
    );
    assert_eq!(
        member.decrypt(&other_chain.encrypt(b"b").unwrap()),
        Err(Error::GroupMismatch)
    );
}

#[test]
fn at_most_2000_keys_are_skipped_and_kept() {
    let (mut sender, mut member) = pair();
    let messages: Vec<Vec<u8>> = (0..=MAX_GROUP_SKIPPED_KEYS + 1)
        .map(|n| sender.encrypt(format!("{n}").as_bytes()).unwrap())
        .collect();
    // 2001 ahead: refused, nothing changes.
    let too_far = &messages[MAX_GROUP_SKIPPED_KEYS + 1];
    assert_eq!(
        member.decrypt(too_far),
        Err(Error::TooManySkippedGroupKeys(2001))
    );
    assert_eq!(member.skipped_keys(), 0);
    // 2000 ahead: accepted, 2000 keys kept for the late ones.
    assert_eq!(
        &member.decrypt(&messages[MAX_GROUP_SKIPPED_KEYS]).unwrap()[..],
        b"2000"
    );
    assert_eq!(member.skipped_keys(), MAX_GROUP_SKIPPED_KEYS);
    assert_eq!(&member.decrypt(too_far).unwrap()[..], b"2001");
    assert_eq!(&member.decrypt(&messages[0]).unwrap()[..], b"0");
    assert_eq!(&member.decrypt(&messages[1999]).unwrap()[..], b"1999");
    assert_eq!(member.skipped_keys(), MAX_GROUP_SKIPPED_KEYS - 2);
}

#[test]
fn the_oldest_skipped_keys_are_evicted_first() {
    let (mut sender, mut member) = pair();
    let messages: Vec<Vec<u8>> = (0..2500)
        .map(|n| sender.encrypt(format!("{n}").as_bytes()).unwrap())
        .collect();
    member.decrypt(&messages[1500]).unwrap();
    member.decrypt(&messages[2499]).unwrap();
    assert_eq!(member.skipped_keys(), MAX_GROUP_SKIPPED_KEYS);
    assert_eq!(
        member.decrypt(&messages[100]),
        Err(Error::MessageKeyUnavailable)
    );
    assert_eq!(&member.decrypt(&messages[600]).unwrap()[..], b"600");
}

#[test]
fn a_new_member_reads_from_the_distribution_on_not_before() {
    let mut sender = SenderChain::generate(GROUP, 1).unwrap();
    let before = sender.encrypt(b"avant").unwrap();
    let mut newcomer = ReceiverChain::new(&sender.distribution());
    let after = sender.encrypt(b"apres").unwrap();
    assert_eq!(newcomer.decrypt(&before), Err(Error::MessageKeyUnavailable));
    assert_eq!(&newcomer.decrypt(&after).unwrap()[..], b"apres");
}

#[test]
fn a_removed_member_reads_nothing_of_the_next_chain() {
    let mut alice = SenderChain::generate(GROUP, 1).unwrap();
    let mut bob = ReceiverChain::new(&alice.distribution());
    let mut carol = ReceiverChain::new(&alice.distribution());
    assert!(bob.decrypt(&alice.encrypt(b"tous").unwrap()).is_ok());
    // Carol is removed: Alice starts chain 2 and gives it to Bob only.
    alice = SenderChain::generate(GROUP, 2).unwrap();
    let mut bob2 = ReceiverChain::new(&alice.distribution());
    let secret = alice.encrypt(b"sans Carol").unwrap();
    assert_eq!(&bob2.decrypt(&secret).unwrap()[..], b"sans Carol");
    assert_eq!(carol.decrypt(&secret), Err(Error::GroupMismatch));
    assert_eq!(bob.decrypt(&secret), Err(Error::GroupMismatch));
}

#[test]
fn states_survive_a_restore() {
    let (mut sender, mut member) = pair();
    let messages: Vec<Vec<u8>> = (0..5).map(|n| sender.encrypt(&[n]).unwrap()).collect();
    member.decrypt(&messages[3]).unwrap();
    let mut sender = SenderChain::from_bytes(&sender.to_bytes()).unwrap();
    let mut member = ReceiverChain::from_bytes(&member.to_bytes()).unwrap();
    assert_eq!(member.skipped_keys(), 3);
    assert_eq!(&member.decrypt(&messages[1]).unwrap()[..], &[1]);
    let next = sender.encrypt(b"suite").unwrap();
    assert_eq!(&member.decrypt(&next).unwrap()[..], b"suite");
    // Skipped keys out of order are refused: one state, one encoding.
    let mut swapped = member.to_bytes().to_vec();
    let list = swapped.len() - 2 * 36;
    let (first, second) = swapped[list..].split_at_mut(36);
    first.swap_with_slice(second);
    assert!(matches!(
        ReceiverChain::from_bytes(&swapped),
        Err(Error::Malformed { .. })
    ));
    assert_eq!(
        SenderChain::from_bytes(&[2]).unwrap_err(),
        Error::UnsupportedVersion {
            what: "sender chain",
            version: 2
        }
    );
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// Any order, any losses: every message that arrives is read once, exactly.
        #[test]
        fn any_order_and_loss(order in Just((0u32..300).collect::<Vec<_>>()).prop_shuffle(),
                              lost in proptest::collection::vec(any::<bool>(), 300)) {
            let (mut sender, mut member) = pair();
            let messages: Vec<Vec<u8>> = (0u32..300)
                .map(|n| sender.encrypt(&n.to_be_bytes()).unwrap())
                .collect();
            for n in order {
                if lost[n as usize] {
                    continue;
                }
                let content = member.decrypt(&messages[n as usize]).unwrap();
                prop_assert_eq!(&content[..], &n.to_be_bytes()[..]);
            }
        }

        /// Decoders never panic on arbitrary bytes.
        #[test]
        fn decoders_refuse_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = GroupMessage::parse(&bytes);
            let _ = SenderKeyDistribution::decode(&bytes);
            let _ = SenderChain::from_bytes(&bytes);
            let _ = ReceiverChain::from_bytes(&bytes);
            let (_, mut member) = pair();
            prop_assert!(member.decrypt(&bytes).is_err());
        }
    }
}
