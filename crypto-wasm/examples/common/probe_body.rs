// The body of `size_probe`, shared with the other size probes (included, not a target).
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn probe(input: &[u8]) -> Vec<u8> {
    use estafette_crypto::*;
    let run = || -> Result<Vec<u8>> {
        let account = Account::generate()?;
        let device = Device::generate(&account, DeviceId::generate()?, 0)?;
        let mut store = PreKeyStore::new(&account, &device, 0)?;
        store.generate_one_time_prekeys(1)?;
        store.generate_kem_one_time_prekeys(&account, 1, 0)?;
        let bundle = PreKeyBundle::decode(&store.bundle(&device).ok_or(Error::Rng)?.encode())?;
        let (mut a, first) = Session::initiate(&device, &bundle, &account.public_key(), input)?;
        let (mut b, _) = Session::respond(&device, &mut store, &first)?;
        let reply = b.encrypt(input)?;
        let content = a.decrypt(&reply)?;
        let a = Session::from_bytes(&a.to_bytes())?;
        let n = SafetyNumber::compute(&account.public_key(), "a", &account.public_key(), "b");
        let key = StorageKey::generate()?;
        let wrapped = key.wrap(input, &Argon2Params::default())?;
        let key = StorageKey::unwrap(&wrapped, input)?;
        let sealed = key.seal("s", &a.to_bytes(), n.digits().as_bytes())?;
        let _ = Account::from_bytes(&account.to_bytes())?;
        let _ = Device::from_bytes(&device.to_bytes())?;
        let _ = PreKeyStore::from_bytes(&store.to_bytes())?;
        let cert = DeviceCertificate::decode(&device.certificate().encode())?;
        cert.verify()?;
        let mut out = content.to_vec();
        out.extend_from_slice(&key.open("s", &a.to_bytes(), &sealed)?);
        Ok(out)
    };
    run().unwrap_or_default()
}
