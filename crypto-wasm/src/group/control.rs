//! Signed group control messages (ours: PROTOCOL.md section 6 says group
//! state changes travel signed, not how). An admin's account identity key
//! signs `"Estafette/v1/group-control" || 0x00 || control`, where `control`
//! is the client's canonical encoding of the change; a control is named by
//! `SHA-256(control || signature)`, and a group state by the SHA-256 of its
//! canonical encoding.

use sha2::{Digest, Sha256};

use crate::{Account, AccountPublicKey, Result};

const CONTEXT: &[u8] = b"Estafette/v1/group-control";

impl Account {
    /// `SIG.sign(AIK, "Estafette/v1/group-control" || 0x00 || control)`.
    pub fn sign_group_control(&self, control: &[u8]) -> [u8; 64] {
        self.aik.sign(CONTEXT, &[control])
    }
}

impl AccountPublicKey {
    /// Checks a signature made by [`Account::sign_group_control`].
    pub fn verify_group_control(&self, control: &[u8], signature: &[u8; 64]) -> Result<()> {
        self.verify(CONTEXT, &[control], signature, "group control")
    }
}

/// SHA-256 of the concatenation of `parts`: the name of a group state or of
/// a signed control.
pub fn group_digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part);
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_signature_holds_only_for_its_bytes_and_key() {
        let admin = Account::generate().unwrap();
        let other = Account::generate().unwrap();
        let sig = admin.sign_group_control(b"rename");
        assert!(
            admin
                .public_key()
                .verify_group_control(b"rename", &sig)
                .is_ok()
        );
        assert!(
            admin
                .public_key()
                .verify_group_control(b"renamf", &sig)
                .is_err()
        );
        assert!(
            other
                .public_key()
                .verify_group_control(b"rename", &sig)
                .is_err()
        );
        // Bound to its context: not a relay-auth or device signature.
        let raw = admin.aik.sign_raw(b"rename");
        assert!(
            admin
                .public_key()
                .verify_group_control(b"rename", &raw)
                .is_err()
        );
    }

    #[test]
    fn digest_is_sha256_of_the_concatenation() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let hex: String = group_digest(&[b"a", b"bc"])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, expected);
    }
}
