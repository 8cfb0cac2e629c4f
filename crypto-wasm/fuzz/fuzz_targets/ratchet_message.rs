//! RatchetMessage decoding, and an established session fed arbitrary bytes.
#![no_main]

use std::sync::OnceLock;

use estafette_crypto::{Account, Device, DeviceId, PreKeyStore, RatchetMessage, Session};
use libfuzzer_sys::fuzz_target;

fn session() -> Option<&'static Session> {
    static S: OnceLock<Option<Session>> = OnceLock::new();
    S.get_or_init(|| {
        let (alice, bob) = (Account::generate().ok()?, Account::generate().ok()?);
        let a = Device::generate(&alice, DeviceId([1; 16]), 0).ok()?;
        let b = Device::generate(&bob, DeviceId([2; 16]), 0).ok()?;
        let mut store = PreKeyStore::new(&bob, &b, 0).ok()?;
        let bundle = store.bundle(&b)?;
        let (_, first) = Session::initiate(&a, &bundle, &bob.public_key(), b"hi").ok()?;
        let (session, _) = Session::respond(&b, &mut store, &first).ok()?;
        Some(session)
    })
    .as_ref()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = RatchetMessage::decode(data) {
        assert_eq!(message.encode(), data);
    }
    if let Some(session) = session() {
        let mut session = session.clone();
        let before = session.to_bytes();
        if session.decrypt(data).is_err() {
            assert_eq!(before, session.to_bytes(), "a failed decrypt changed the session");
        }
    }
});
