//! Unpadding arbitrary bytes; whatever it accepts must pad back to the same bytes.
#![no_main]

use estafette_crypto::{pad, unpad};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(content) = unpad(data) {
        assert_eq!(&pad(content)[..], data);
    }
    let padded = pad(data);
    assert_eq!(unpad(&padded).ok(), Some(data));
});
