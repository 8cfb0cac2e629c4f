//! PreKeyMessage decoding, and a responder fed arbitrary bytes.
#![no_main]

use std::sync::OnceLock;

use estafette_crypto::{Account, Device, DeviceId, PreKeyMessage, PreKeyStore, Session};
use libfuzzer_sys::fuzz_target;

fn responder() -> Option<&'static (Device, PreKeyStore)> {
    static R: OnceLock<Option<(Device, PreKeyStore)>> = OnceLock::new();
    R.get_or_init(|| {
        let account = Account::generate().ok()?;
        let device = Device::generate(&account, DeviceId([1; 16]), 0).ok()?;
        let mut store = PreKeyStore::new(&account, &device, 0).ok()?;
        store.generate_one_time_prekeys(2).ok()?;
        Some((device, store))
    })
    .as_ref()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = PreKeyMessage::decode(data) {
        assert_eq!(PreKeyMessage::decode(&message.encode()).ok(), Some(message));
    }
    if let Some((device, store)) = responder() {
        let mut store = store.clone();
        let _ = Session::respond(device, &mut store, data);
    }
});
