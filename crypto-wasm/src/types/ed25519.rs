//! Ed25519 (RFC 8032) with strict verification.

use core::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::{Error, Result, rng::random_array, types::short_hex};

/// The public half of an account identity key (AIK): the account's identity.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountPublicKey(pub(crate) [u8; 32]);

impl AccountPublicKey {
    /// Parses 32 bytes, refusing points that are not valid or are of small order.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self> {
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| Error::InvalidPublicKey("account identity"))?;
        if key.is_weak() {
            return Err(Error::InvalidPublicKey("account identity"));
        }
        Ok(Self(bytes))
    }

    /// The 32 bytes of the key.
    pub const fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The 32 bytes of the key, borrowed.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Verifies `sig` over `context || 0x00 || body` with `verify_strict`.
    pub(crate) fn verify(
        &self,
        context: &[u8],
        body: &[&[u8]],
        sig: &[u8; 64],
        what: &'static str,
    ) -> Result<()> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| Error::BadSignature(what))?;
        let msg = signed_message(context, body);
        key.verify_strict(&msg, &Signature::from_bytes(sig))
            .map_err(|_| Error::BadSignature(what))
    }
}

impl AccountPublicKey {
    /// Verifies `sig` over `msg` itself, with no context prefix (the group
    /// messages of PROTOCOL.md section 6 sign their body as it is).
    pub(crate) fn verify_raw(&self, msg: &[u8], sig: &[u8; 64], what: &'static str) -> Result<()> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| Error::BadSignature(what))?;
        key.verify_strict(msg, &Signature::from_bytes(sig))
            .map_err(|_| Error::BadSignature(what))
    }
}

impl fmt::Debug for AccountPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountPublicKey({}…)", short_hex(&self.0))
    }
}

/// `context || 0x00 || body...`, the input of every signature in PROTOCOL.md section 2.
pub(crate) fn signed_message(context: &[u8], body: &[&[u8]]) -> Vec<u8> {
    let len = context.len() + 1 + body.iter().map(|b| b.len()).sum::<usize>();
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(context);
    msg.push(0);
    for part in body {
        msg.extend_from_slice(part);
    }
    msg
}

/// An Ed25519 signing key; zeroizes on drop (ed25519-dalek).
#[derive(Clone)]
pub(crate) struct Ed25519SigningKey(SigningKey);

impl Ed25519SigningKey {
    pub(crate) fn generate() -> Result<Self> {
        let seed = Zeroizing::new(random_array::<32>()?);
        Ok(Self::from_seed(&seed))
    }

    pub(crate) fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    pub(crate) fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    pub(crate) fn public(&self) -> AccountPublicKey {
        AccountPublicKey(self.0.verifying_key().to_bytes())
    }

    pub(crate) fn sign(&self, context: &[u8], body: &[&[u8]]) -> [u8; 64] {
        self.0.sign(&signed_message(context, body)).to_bytes()
    }

    /// Signs `msg` itself, with no context prefix (group messages).
    pub(crate) fn sign_raw(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }
}
