//! Vault contents and sealed vaults from arbitrary bytes; the first byte picks which.
#![no_main]

use std::sync::OnceLock;

use estafette_crypto::{ClientRegistration, ServerSetup, VaultContents, VaultKey, sealed_version};
use libfuzzer_sys::fuzz_target;

fn vault_key() -> Option<&'static VaultKey> {
    static KEY: OnceLock<Option<VaultKey>> = OnceLock::new();
    KEY.get_or_init(|| {
        let setup = ServerSetup::generate().ok()?;
        let (client, request) = ClientRegistration::start("alice", "wss://r", b"pass").ok()?;
        let response = setup.start_registration("alice", &request).ok()?;
        Some(client.finish(&response).ok()?.1.vault_key())
    })
    .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Some((kind, rest)) = data.split_first() else {
        return;
    };
    match kind % 3 {
        0 => {
            // What decodes encodes to one canonical form, which decodes to itself.
            if let Ok(contents) = VaultContents::from_bytes(rest) {
                let canonical = contents.to_bytes().expect("decoded contents encode");
                let again = VaultContents::from_bytes(&canonical).expect("canonical form decodes");
                assert_eq!(&again.to_bytes().expect("encodes")[..], &canonical[..]);
            }
        }
        1 => {
            if let Some(key) = vault_key() {
                assert!(key.open("alice", rest).is_err());
            }
        }
        _ => {
            let _ = sealed_version(rest);
        }
    }
});
