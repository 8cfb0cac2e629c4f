//! Size probe: `size_opaque` plus the vault, mailbox state, segments and the
//! device-bound relay authentication: the whole client side of section 9.
#![allow(missing_docs)]

#[cfg(target_arch = "wasm32")]
include!("common/probe_body.rs");

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn probe_roaming(input: &[u8], ke2: &[u8], sealed: &[u8]) -> Vec<u8> {
    use estafette_crypto::*;
    let run = || -> Result<Vec<u8>> {
        let (login, _) = ClientLogin::start("a", "o", input)?;
        let finish = login.finish(&Ke2::from_bytes(ke2)?)?;
        let vk = finish.export_key.vault_key();
        let contents = vk.open("a", sealed)?.value;
        let mut out = vk.seal("a", 2, &contents)?;
        out.extend_from_slice(&contents.mailbox_key.seal("a", 1, input)?);
        out.extend_from_slice(&contents.mailbox_key.open("a", sealed)?.value);
        let segment = contents.open_segment("a", sealed)?;
        let entries: Vec<&[u8]> = segment.entries().collect();
        out.extend_from_slice(
            &contents
                .history_key
                .seal_segment("a", &segment.header, &entries)?
                .bytes,
        );
        let plan = plan_restore(&[(segment.id, segment.header)], Some(1));
        out.push(plan.ordered.len() as u8);
        let account = contents.account.clone();
        let device = Device::generate(&account, DeviceId::generate()?, 0)?;
        out.extend_from_slice(&device.relay_auth_mac(
            &[0; 32],
            &X25519PublicKey::from_bytes([9; 32]),
            "o",
        )?);
        Ok(out)
    };
    run().unwrap_or_default()
}
