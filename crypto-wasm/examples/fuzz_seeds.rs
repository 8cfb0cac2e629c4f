//! Writes valid inputs as seed corpora for the fuzz targets:
//! `cargo run -p estafette-crypto --example fuzz_seeds -- crypto-wasm/fuzz/corpus`.
#![allow(missing_docs)]

use std::{fs, path::Path};

use estafette_crypto::{
    Account, AccountSettings, Argon2Params, ClientLogin, ClientRegistration, Device, DeviceId,
    PreKeyStore, RelayChallenge, Result, SegmentHeader, ServerLogin, ServerSetup, Session,
    StorageKey, VaultContents, pad,
};

fn write(root: &Path, target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = root.join(target);
    fs::create_dir_all(&dir)?;
    fs::write(dir.join(name), bytes)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus".into());
    let root = Path::new(&root);
    let seeds = make()?;
    for (target, name, bytes) in seeds {
        write(root, target, name, &bytes)?;
    }
    Ok(())
}

fn make() -> Result<Vec<(&'static str, &'static str, Vec<u8>)>> {
    let (alice, bob) = (Account::generate()?, Account::generate()?);
    let a = Device::generate(&alice, DeviceId([1; 16]), 0)?;
    let b = Device::generate(&bob, DeviceId([2; 16]), 0)?;
    let mut store = PreKeyStore::new(&bob, &b, 0)?;
    store.generate_one_time_prekeys(2)?;
    store.generate_kem_one_time_prekeys(&bob, 1, 0)?;
    let bundle = store.bundle(&b).ok_or(estafette_crypto::Error::Rng)?;
    let (mut sa, first) = Session::initiate(&a, &bundle, &bob.public_key(), b"hello")?;
    let (mut sb, _) = Session::respond(&b, &mut store, &first)?;
    let reply = sb.encrypt(b"reply")?;
    sa.decrypt(&reply)?;
    let next = sa.encrypt(b"next")?;
    let key = StorageKey::generate()?;
    let small = Argon2Params {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
    let tagged = |kind: u8, bytes: &[u8]| [&[kind][..], bytes].concat();
    let mut sender = estafette_crypto::SenderChain::generate([7; 16], 1)?;
    let distribution = sender.distribution().encode().to_vec();
    let group_message = sender.encrypt(b"au groupe")?;
    let mut member = estafette_crypto::ReceiverChain::new(&sender.distribution());
    member.decrypt(&sender.encrypt(b"suite")?)?;
    sender.encrypt(b"perdu")?;
    member.decrypt(&sender.encrypt(b"apres")?)?;
    let mut seeds = vec![
        ("prekey_message", "first", first.clone()),
        ("ratchet_message", "reply", reply),
        ("ratchet_message", "next", next),
        ("ratchet_message", "prekey", first),
        (
            "device_certificate",
            "cert",
            a.certificate().encode().to_vec(),
        ),
        ("prekey_bundle", "bundle", bundle.encode()),
        ("saved_state", "session", tagged(0, &sa.to_bytes())),
        ("saved_state", "store", tagged(1, &store.to_bytes())),
        ("saved_state", "account", tagged(2, &alice.to_bytes())),
        ("saved_state", "device", tagged(3, &a.to_bytes())),
        (
            "saved_state",
            "wrapped",
            tagged(4, &key.wrap(b"passphrase", &small)?),
        ),
        (
            "sealed_record",
            "record",
            key.seal("store", b"key", b"content")?,
        ),
        ("padding", "padded", pad(b"content").to_vec()),
        ("group_message", "message", group_message),
        ("group_message", "distribution", distribution),
        ("group_message", "sender_chain", sender.to_bytes().to_vec()),
        (
            "group_message",
            "receiver_chain",
            member.to_bytes().to_vec(),
        ),
    ];
    seeds.extend(roaming(&alice, &a)?);
    Ok(seeds)
}

/// Section 9: OPAQUE messages, vault, mailbox state, segments, relay authentication.
fn roaming(
    account: &Account,
    device: &Device,
) -> Result<Vec<(&'static str, &'static str, Vec<u8>)>> {
    let origin = "wss://relay.example.gouv.fr";
    let setup = ServerSetup::generate()?;
    let (client, request) = ClientRegistration::start("alice", origin, b"pass")?;
    let response = setup.start_registration("alice", &request)?;
    let (record, export_key) = client.finish(&response)?;
    let (client, ke1) = ClientLogin::start("alice", origin, b"pass")?;
    let (_, ke2) = ServerLogin::start(&setup, Some(&record), &ke1, "alice", origin)?;
    let ke3 = client.finish(&ke2)?.ke3;
    let tagged = |kind: u8, bytes: &[u8]| [&[kind][..], bytes].concat();
    let mut contents = VaultContents::new(account.clone(), AccountSettings::default())?;
    contents.rotate_keys()?;
    let vault = export_key.vault_key().seal("alice", 1, &contents)?;
    let mailbox = contents.mailbox_key.seal("alice", 1, b"state")?;
    let header = SegmentHeader::drained(0);
    let segment = contents
        .history_key
        .seal_segment("alice", &header, &[&[0x61, b'a']])?;
    let header_bytes = [0u64, 0, 0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect::<Vec<_>>();
    let relay = RelayChallenge::generate()?;
    let mac = device.relay_auth_mac(relay.challenge(), &relay.public_key(), origin)?;
    let auth = [&device.certificate().encode()[..], &mac, origin.as_bytes()].concat();
    Ok(vec![
        ("opaque_message", "request", tagged(0, request.as_bytes())),
        ("opaque_message", "response", tagged(1, response.as_bytes())),
        ("opaque_message", "record", tagged(2, record.as_bytes())),
        ("opaque_message", "ke1", tagged(3, ke1.as_bytes())),
        ("opaque_message", "ke2", tagged(4, ke2.as_bytes())),
        ("opaque_message", "ke3", tagged(5, ke3.as_bytes())),
        ("opaque_message", "setup", tagged(6, &setup.to_bytes())),
        (
            "opaque_server",
            "known",
            [&[0][..], ke1.as_bytes(), ke3.as_bytes()].concat(),
        ),
        (
            "opaque_server",
            "unknown",
            [&[1][..], ke1.as_bytes(), ke3.as_bytes()].concat(),
        ),
        ("vault", "contents", tagged(0, &contents.to_bytes()?)),
        ("vault", "sealed", tagged(1, &vault)),
        ("vault", "version", tagged(2, &vault)),
        ("mailbox_state", "sealed", mailbox),
        ("history_segment", "sealed", tagged(0, &segment.bytes)),
        (
            "history_segment",
            "entries",
            [&[1][..], &header_bytes, &[2, 0x61, b'a', 1, 0xf6]].concat(),
        ),
        ("relay_auth", "answer", auth),
    ])
}
