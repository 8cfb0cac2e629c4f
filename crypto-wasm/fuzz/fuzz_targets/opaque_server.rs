//! The relay's side of a login fed with arbitrary KE1 and KE3: never a panic, never a
//! confirmed login. The first byte picks a known handle (with its record) or an unknown one.
#![no_main]

use std::sync::OnceLock;

use estafette_crypto::{
    ClientRegistration, KE1_LEN, Ke1, Ke3, RegistrationRecord, ServerLogin, ServerSetup,
};
use libfuzzer_sys::fuzz_target;

const ORIGIN: &str = "wss://relay.example.gouv.fr";

fn relay() -> Option<&'static (ServerSetup, RegistrationRecord)> {
    static RELAY: OnceLock<Option<(ServerSetup, RegistrationRecord)>> = OnceLock::new();
    RELAY
        .get_or_init(|| {
            let setup = ServerSetup::generate().ok()?;
            let (client, request) = ClientRegistration::start("alice", ORIGIN, b"pass").ok()?;
            let response = setup.start_registration("alice", &request).ok()?;
            let (record, _) = client.finish(&response).ok()?;
            Some((setup, record))
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let (Some((known, rest)), Some((setup, record))) = (data.split_first(), relay()) else {
        return;
    };
    let Some(ke1) = rest.get(..KE1_LEN).and_then(|b| Ke1::from_bytes(b).ok()) else {
        return;
    };
    let record = (known % 2 == 0).then_some(record);
    let Ok((login, _ke2)) = ServerLogin::start(setup, record, &ke1, "alice", ORIGIN) else {
        return;
    };
    if let Some(ke3) = rest.get(KE1_LEN..).and_then(|b| Ke3::from_bytes(b).ok()) {
        assert!(login.finish(&ke3).is_err());
    }
});
