//! Decoding arbitrary bytes as each OPAQUE message and the relay's setup; the first byte picks which.
#![no_main]

use estafette_crypto::{
    Ke1, Ke2, Ke3, RegistrationRecord, RegistrationRequest, RegistrationResponse, ServerSetup,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((kind, rest)) = data.split_first() else {
        return;
    };
    // A message that decodes is kept as it came: its bytes are the input.
    match kind % 7 {
        0 => assert!(RegistrationRequest::from_bytes(rest).map_or(true, |m| m.as_bytes() == rest)),
        1 => assert!(RegistrationResponse::from_bytes(rest).map_or(true, |m| m.as_bytes() == rest)),
        2 => assert!(RegistrationRecord::from_bytes(rest).map_or(true, |m| m.as_bytes() == rest)),
        3 => assert!(Ke1::from_bytes(rest).map_or(true, |m| m.as_bytes() == rest)),
        4 => assert!(Ke2::from_bytes(rest).map_or(true, |m| m.as_bytes() == rest)),
        5 => assert!(Ke3::from_bytes(rest).map_or(true, |m| m.as_bytes() == rest)),
        _ => assert!(ServerSetup::from_bytes(rest).map_or(true, |s| &s.to_bytes()[..] == rest)),
    }
});
