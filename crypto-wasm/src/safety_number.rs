//! Safety numbers (PROTOCOL.md section 7): 60 digits two people compare to check keys.

use core::fmt;

use sha2::{Digest, Sha512};

use crate::types::ed25519::AccountPublicKey;

const ITERATIONS_AFTER_FIRST: usize = 5199;
/// Prefix of the QR code payload.
pub const QR_PREFIX: &str = "ESTAFETTE1:";

/// The safety number of two accounts; the same on both sides.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SafetyNumber {
    digits: String,
}

/// 30 digits for one party.
fn fingerprint(key: &AccountPublicKey, account_id: &str) -> String {
    let mut h = Sha512::new()
        .chain_update([0u8, 0u8])
        .chain_update(key.as_bytes())
        .chain_update(account_id.as_bytes())
        .finalize();
    for _ in 0..ITERATIONS_AFTER_FIRST {
        h = Sha512::new()
            .chain_update(h)
            .chain_update(key.as_bytes())
            .finalize();
    }
    let mut out = String::with_capacity(30);
    for chunk in h.chunks_exact(5).take(6) {
        let n = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        out.push_str(&format!("{:05}", n % 100_000));
    }
    out
}

impl SafetyNumber {
    /// Computes the safety number of the local and remote accounts.
    pub fn compute(
        local_key: &AccountPublicKey,
        local_account_id: &str,
        remote_key: &AccountPublicKey,
        remote_account_id: &str,
    ) -> Self {
        let local = fingerprint(local_key, local_account_id);
        let remote = fingerprint(remote_key, remote_account_id);
        let digits = if local <= remote {
            local + &remote
        } else {
            remote + &local
        };
        Self { digits }
    }

    /// The 60 digits.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The 12 groups of 5 digits, for display.
    pub fn groups(&self) -> Vec<&str> {
        (0..12)
            .filter_map(|i| self.digits.get(i * 5..i * 5 + 5))
            .collect()
    }

    /// What the QR code encodes: `"ESTAFETTE1:" || safety number`.
    pub fn qr_payload(&self) -> String {
        format!("{QR_PREFIX}{}", self.digits)
    }

    /// Whether a scanned QR payload shows the same safety number.
    pub fn matches_qr_payload(&self, payload: &str) -> bool {
        payload.strip_prefix(QR_PREFIX) == Some(self.digits.as_str())
    }
}

impl fmt::Display for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.groups().join(" "))
    }
}
