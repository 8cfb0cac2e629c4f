//! OPAQUE sign-in (PROTOCOL.md section 9.1): registration, login, and what a wrong
//! passphrase, an unknown handle, a tampered or replayed message do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use estafette_crypto::{
    Account, AccountSettings, ClientLogin, ClientLoginFinish, ClientRegistration, Error, KE1_LEN,
    KE2_LEN, KE3_LEN, Ke1, Ke2, Ke3, REGISTRATION_RECORD_LEN, RegistrationRecord,
    RegistrationRequest, RegistrationResponse, SERVER_SETUP_LEN, ServerLogin, ServerSetup,
    VaultContents,
};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const HANDLE: &str = "alice@interieur.gouv.fr";
const ORIGIN: &str = "wss://relay.example.gouv.fr";
const PASSPHRASE: &[u8] = b"correct horse battery staple";

/// Registers `passphrase`; returns the stored record (after a byte round trip, as the
/// relay would) and the client's vault contents sealed under the registration's export key.
fn register(setup: &ServerSetup, passphrase: &[u8]) -> (RegistrationRecord, Vec<u8>) {
    let (client, request) = ClientRegistration::start(HANDLE, ORIGIN, passphrase).unwrap();
    let request = RegistrationRequest::from_bytes(request.as_bytes()).unwrap();
    let response = setup.start_registration(HANDLE, &request).unwrap();
    let response = RegistrationResponse::from_bytes(response.as_bytes()).unwrap();
    let (upload, export_key) = client.finish(&response).unwrap();
    let record = RegistrationRecord::from_bytes(upload.as_bytes()).unwrap();
    let contents =
        VaultContents::new(Account::generate().unwrap(), AccountSettings::default()).unwrap();
    let vault = export_key.vault_key().seal(HANDLE, 1, &contents).unwrap();
    (record, vault)
}

fn server_start(
    setup: &ServerSetup,
    record: Option<&RegistrationRecord>,
    ke1: &Ke1,
) -> (ServerLogin, Ke2) {
    let ke1 = Ke1::from_bytes(ke1.as_bytes()).unwrap();
    ServerLogin::start(setup, record, &ke1, HANDLE, ORIGIN).unwrap()
}

/// Runs a login at the relay `ORIGIN` for a client that sees `origin`: the relay's state
/// and what the client makes of KE2.
fn login(
    setup: &ServerSetup,
    record: Option<&RegistrationRecord>,
    origin: &str,
    passphrase: &[u8],
) -> (ServerLogin, Result<ClientLoginFinish, Error>) {
    let (client, ke1) = ClientLogin::start(HANDLE, origin, passphrase).unwrap();
    let (server, ke2) = server_start(setup, record, &ke1);
    (server, client.finish(&ke2))
}

#[test]
fn a_login_gives_both_sides_one_session_key_and_the_client_its_vault() {
    let setup = ServerSetup::generate().unwrap();
    let (record, vault) = register(&setup, PASSPHRASE);
    let (client, ke1) = ClientLogin::start(HANDLE, ORIGIN, PASSPHRASE).unwrap();
    let (server, ke2) = server_start(&setup, Some(&record), &ke1);
    let finish = client
        .finish(&Ke2::from_bytes(ke2.as_bytes()).unwrap())
        .unwrap();
    let server_key = server
        .finish(&Ke3::from_bytes(finish.ke3.as_bytes()).unwrap())
        .unwrap();
    assert_eq!(server_key.as_bytes(), finish.session_key.as_bytes());
    // The export key of the login is the one of the registration: the vault opens.
    let opened = finish.export_key.vault_key().open(HANDLE, &vault).unwrap();
    assert_eq!(opened.version, 1);
    assert_eq!(
        (
            ke1.as_bytes().len(),
            ke2.as_bytes().len(),
            finish.ke3.as_bytes().len()
        ),
        (KE1_LEN, KE2_LEN, KE3_LEN)
    );
    assert_eq!(record.as_bytes().len(), REGISTRATION_RECORD_LEN);
}

#[test]
fn a_wrong_passphrase_fails_at_the_client_with_no_export_key() {
    let setup = ServerSetup::generate().unwrap();
    let (record, _) = register(&setup, PASSPHRASE);
    let (_, outcome) = login(
        &setup,
        Some(&record),
        ORIGIN,
        b"correct horse battery stapler",
    );
    assert_eq!(outcome.unwrap_err(), Error::LoginFailed);
}

#[test]
fn an_unknown_handle_is_answered_like_a_known_one() {
    let setup = ServerSetup::generate().unwrap();
    let (record, _) = register(&setup, PASSPHRASE);
    let (_, ke1) = ClientLogin::start(HANDLE, ORIGIN, PASSPHRASE).unwrap();
    let (_, known) = server_start(&setup, Some(&record), &ke1);
    let (_, fake) = server_start(&setup, None, &ke1);
    let (_, fake_again) = server_start(&setup, None, &ke1);
    // Same length, and it parses as a KE2.
    assert_eq!(fake.as_bytes().len(), known.as_bytes().len());
    Ke2::from_bytes(fake.as_bytes()).unwrap();
    // The OPRF evaluation (first 32 bytes) depends only on the handle and KE1, for a
    // fake record as for a real one, so repeating a login shows no difference either.
    assert_eq!(fake.as_bytes()[..32], known.as_bytes()[..32]);
    assert_eq!(fake.as_bytes()[..32], fake_again.as_bytes()[..32]);
    assert_ne!(fake.as_bytes()[32..], fake_again.as_bytes()[32..]);
    // And the client cannot tell it from a wrong passphrase.
    let (client, ke1) = ClientLogin::start(HANDLE, ORIGIN, PASSPHRASE).unwrap();
    let (_, fake) = server_start(&setup, None, &ke1);
    assert_eq!(client.finish(&fake).unwrap_err(), Error::LoginFailed);
}

#[test]
fn a_tampered_ke2_fails_at_the_client() {
    let setup = ServerSetup::generate().unwrap();
    let (record, _) = register(&setup, PASSPHRASE);
    // One byte in each part: evaluation, masking nonce, masked response, server nonce,
    // server key share, server MAC.
    for at in [5, 40, 100, 200, 240, 300] {
        let (client, ke1) = ClientLogin::start(HANDLE, ORIGIN, PASSPHRASE).unwrap();
        let (_, ke2) = server_start(&setup, Some(&record), &ke1);
        let mut bytes = *ke2.as_bytes();
        bytes[at] ^= 0x01;
        let outcome = Ke2::from_bytes(&bytes).and_then(|ke2| client.finish(&ke2));
        assert!(outcome.is_err(), "a KE2 altered at byte {at} was accepted");
    }
}

#[test]
fn a_tampered_or_replayed_ke3_fails_at_the_relay() {
    let setup = ServerSetup::generate().unwrap();
    let (record, _) = register(&setup, PASSPHRASE);
    let (client, ke1) = ClientLogin::start(HANDLE, ORIGIN, PASSPHRASE).unwrap();
    let (server, ke2) = server_start(&setup, Some(&record), &ke1);
    let finish = client.finish(&ke2).unwrap();
    let mut tampered = *finish.ke3.as_bytes();
    tampered[10] ^= 0x80;
    let tampered = Ke3::from_bytes(&tampered).unwrap();
    assert_eq!(
        server.finish(&tampered).unwrap_err(),
        Error::LoginNotConfirmed
    );

    // Replaying the recorded KE1 and KE3 on a new login: the relay's fresh nonce and
    // key share make the old KE3 worthless.
    let (replayed, _) = server_start(&setup, Some(&record), &ke1);
    assert_eq!(
        replayed.finish(&finish.ke3).unwrap_err(),
        Error::LoginNotConfirmed
    );
}

#[test]
fn a_login_relayed_to_another_origin_fails() {
    let setup = ServerSetup::generate().unwrap();
    let (record, _) = register(&setup, PASSPHRASE);
    // A phishing relay at another origin forwards to the real one: the client binds
    // the origin it sees into the exchange, so it refuses.
    let (_, outcome) = login(&setup, Some(&record), "wss://relay.example.com", PASSPHRASE);
    assert_eq!(outcome.unwrap_err(), Error::LoginFailed);
}

#[test]
fn the_server_setup_survives_a_restart_and_decoders_check_lengths() {
    let setup = ServerSetup::generate().unwrap();
    let (record, _) = register(&setup, PASSPHRASE);
    let bytes = setup.to_bytes();
    assert_eq!(bytes.len(), SERVER_SETUP_LEN);
    let restored = ServerSetup::from_bytes(&bytes).unwrap();
    let (client, ke1) = ClientLogin::start(HANDLE, ORIGIN, PASSPHRASE).unwrap();
    let (server, ke2) = server_start(&restored, Some(&record), &ke1);
    let finish = client.finish(&ke2).unwrap();
    server.finish(&finish.ke3).unwrap();

    assert!(ServerSetup::from_bytes(&bytes[1..]).is_err());
    assert!(Ke1::from_bytes(&ke1.as_bytes()[1..]).is_err());
    assert!(Ke2::from_bytes(&[0; KE2_LEN + 1]).is_err());
    assert!(Ke3::from_bytes(&[]).is_err());
    assert!(RegistrationRecord::from_bytes(&record.as_bytes()[..100]).is_err());
    // An invalid group element is refused when decoding, before any work.
    assert!(RegistrationRequest::from_bytes(&[0xff; 32]).is_err());
    assert_eq!(
        ClientLogin::start("", ORIGIN, PASSPHRASE).unwrap_err(),
        Error::InvalidIdentifier("handle")
    );
    // Debug shows no secret.
    assert_eq!(format!("{setup:?}"), "ServerSetup(..)");
    let shown = format!("{finish:?}");
    assert!(shown.contains("SessionKey(..)") && shown.contains("ExportKey(..)"));
}

#[test]
fn a_passphrase_change_replaces_the_record() {
    let setup = ServerSetup::generate().unwrap();
    let (old, _) = register(&setup, PASSPHRASE);
    let (new, _) = register(&setup, b"a new passphrase");
    assert_ne!(old, new);
    let (_, outcome) = login(&setup, Some(&new), ORIGIN, PASSPHRASE);
    assert_eq!(outcome.unwrap_err(), Error::LoginFailed);
    let (server, outcome) = login(&setup, Some(&new), ORIGIN, b"a new passphrase");
    server.finish(&outcome.unwrap().ke3).unwrap();
}
