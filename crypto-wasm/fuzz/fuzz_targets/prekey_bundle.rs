//! Prekey bundle decoding and verification.
#![no_main]

use estafette_crypto::PreKeyBundle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = PreKeyBundle::decode(data) {
        assert_eq!(bundle.encode(), data);
        let _ = bundle.verify(bundle.certificate.account_key());
    }
});
