//! PQXDH session setup (PROTOCOL.md section 3).

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{
    Device, Result,
    message::prekey_message::PreKeyMessage,
    prekeys::{bundle::PreKeyBundle, store::ResponderKeys},
    ratchet::double_ratchet::AssociatedData,
    types::{
        curve25519::{SharedSecret, X25519KeyPair, X25519PublicKey},
        ed25519::AccountPublicKey,
        ml_kem::KEM_CIPHERTEXT_LEN,
    },
};

const INFO: &[u8] = b"Estafette/v1/PQXDH_CURVE25519_SHA-256_ML-KEM-1024";

/// `SK = HKDF(zeros(32), 0xFF*32 || DH1 || DH2 || DH3 [|| DH4] || SS, INFO, 32)`.
pub(crate) fn derive_sk(dhs: &[&SharedSecret], ss: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut ikm = Zeroizing::new(Vec::with_capacity(32 * 6));
    ikm.extend_from_slice(&[0xFF; 32]);
    for dh in dhs {
        ikm.extend_from_slice(&dh[..]);
    }
    ikm.extend_from_slice(ss);
    let mut sk = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit, so expand cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(&[0u8; 32]), &ikm).expand(INFO, &mut sk[..]);
    sk
}

/// `AD = DIK_A_pub || DIK_B_pub`.
pub(crate) fn associated_data(
    initiator: &X25519PublicKey,
    responder: &X25519PublicKey,
) -> AssociatedData {
    let mut ad = [0u8; 64];
    let (a, b) = ad.split_at_mut(32);
    a.copy_from_slice(initiator.as_bytes());
    b.copy_from_slice(responder.as_bytes());
    ad
}

/// What the initiator derived, and what it must send.
pub(crate) struct Initiation {
    pub(crate) sk: Zeroizing<[u8; 32]>,
    pub(crate) ad: AssociatedData,
    pub(crate) base_key: X25519PublicKey,
    pub(crate) kem_ciphertext: Box<[u8; KEM_CIPHERTEXT_LEN]>,
}

/// Initiator A: verifies the bundle against `expected`, then derives SK.
/// EK_A's secret and the DH outputs are wiped when this returns.
pub(crate) fn initiate(
    device: &Device,
    bundle: &PreKeyBundle,
    expected: &AccountPublicKey,
) -> Result<Initiation> {
    bundle.verify(expected)?;
    let ek = X25519KeyPair::generate()?;
    let (kem_ciphertext, ss) = bundle.kem_prekey.public_key.encapsulate()?;
    let spk = &bundle.signed_prekey.public_key;
    let their_dik = bundle.certificate.device_key();
    let dh1 = device.dik.diffie_hellman(spk)?;
    let dh2 = ek.diffie_hellman(their_dik)?;
    let dh3 = ek.diffie_hellman(spk)?;
    let sk = match &bundle.one_time_prekey {
        Some(opk) => {
            let dh4 = ek.diffie_hellman(&opk.public_key)?;
            derive_sk(&[&dh1, &dh2, &dh3, &dh4], &ss)
        }
        None => derive_sk(&[&dh1, &dh2, &dh3], &ss),
    };
    Ok(Initiation {
        sk,
        ad: associated_data(device.certificate.device_key(), their_dik),
        base_key: ek.public(),
        kem_ciphertext,
    })
}

/// Responder B: derives SK from a PreKeyMessage whose keys were looked up in its store.
/// The caller has verified the initiator's certificate.
pub(crate) fn respond(
    device: &Device,
    keys: &ResponderKeys<'_>,
    message: &PreKeyMessage,
) -> Result<(Zeroizing<[u8; 32]>, AssociatedData)> {
    let their_dik = message.certificate.device_key();
    let ek = &message.base_key;
    let dh1 = keys.signed.diffie_hellman(their_dik)?;
    let dh2 = device.dik.diffie_hellman(ek)?;
    let dh3 = keys.signed.diffie_hellman(ek)?;
    let ss = keys.kem.decapsulate(&message.kem_ciphertext);
    let sk = match keys.one_time {
        Some(opk) => {
            let dh4 = opk.diffie_hellman(ek)?;
            derive_sk(&[&dh1, &dh2, &dh3, &dh4], &ss)
        }
        None => derive_sk(&[&dh1, &dh2, &dh3], &ss),
    };
    Ok((
        sk,
        associated_data(their_dik, device.certificate.device_key()),
    ))
}
