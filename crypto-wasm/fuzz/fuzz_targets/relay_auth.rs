//! A relay checking arbitrary certificate and MAC bytes against its challenge: never accepted.
#![no_main]

use estafette_crypto::{DEVICE_CERTIFICATE_LEN, DeviceCertificate, RelayChallenge};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static RELAY: std::sync::OnceLock<Option<RelayChallenge>> = std::sync::OnceLock::new();
    let Some(relay) = RELAY.get_or_init(|| RelayChallenge::generate().ok()) else {
        return;
    };
    let (Some(cert), Some(mac)) = (
        data.get(..DEVICE_CERTIFICATE_LEN),
        data.get(DEVICE_CERTIFICATE_LEN..DEVICE_CERTIFICATE_LEN + 32),
    ) else {
        return;
    };
    let origin =
        String::from_utf8_lossy(data.get(DEVICE_CERTIFICATE_LEN + 32..).unwrap_or_default());
    if let (Ok(cert), Ok(mac)) = (DeviceCertificate::decode(cert), <[u8; 32]>::try_from(mac)) {
        assert!(relay.verify_mac(&cert, &origin, &mac).is_err());
    }
});
