//! Writes valid inputs as seed corpora for the fuzz targets:
//! `cargo run -p estafette-crypto --example fuzz_seeds -- crypto-wasm/fuzz/corpus`.
#![allow(missing_docs)]

use std::{fs, path::Path};

use estafette_crypto::{
    Account, Argon2Params, Device, DeviceId, PreKeyStore, Result, Session, StorageKey, pad,
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
    Ok(vec![
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
    ])
}
