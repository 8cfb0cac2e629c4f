//! Device certificate decoding and verification (what the relay runs on client input).
#![no_main]

use estafette_crypto::DeviceCertificate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = DeviceCertificate::decode(data) {
        assert_eq!(&cert.encode()[..], data);
        let _ = cert.verify();
        if data.len() >= 32 {
            let _ = cert.verify_relay_auth(&[0; 32], "wss://relay", &[0; 64]);
        }
    }
});
