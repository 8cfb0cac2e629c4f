//! Size probe: `size_probe` plus the client side of OPAQUE only (section 9.1), to
//! measure what opaque-ke adds to the worker's wasm.
#![allow(missing_docs)]

#[cfg(target_arch = "wasm32")]
include!("common/probe_body.rs");

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn probe_opaque(input: &[u8], ke2: &[u8], response: &[u8]) -> Vec<u8> {
    use estafette_crypto::*;
    let run = || -> Result<Vec<u8>> {
        let (login, ke1) = ClientLogin::start("a", "o", input)?;
        let finish = login.finish(&Ke2::from_bytes(ke2)?)?;
        let (registration, request) = ClientRegistration::start("a", "o", input)?;
        let (record, _) = registration.finish(&RegistrationResponse::from_bytes(response)?)?;
        let mut out = ke1.as_bytes().to_vec();
        out.extend_from_slice(finish.ke3.as_bytes());
        out.extend_from_slice(finish.session_key.as_bytes());
        out.extend_from_slice(request.as_bytes());
        out.extend_from_slice(record.as_bytes());
        Ok(out)
    };
    run().unwrap_or_default()
}
