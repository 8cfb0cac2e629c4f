//! The cipher suite (PROTOCOL.md section 9.1), the identifiers and the context.

use opaque_ke::{
    CipherSuite, Identifiers, Ristretto255, TripleDh,
    errors::{InternalError, ProtocolError},
};

use zeroize::Zeroizing;

use crate::{
    Error, Result,
    opaque::{
        ksf::OpaqueKsf,
        rng::{OsRng, with_os_rng},
    },
};

/// `OprfCs = Ristretto255`, `KeyExchange = TripleDh<Ristretto255, Sha512>`,
/// `Ksf = Argon2id (m = 64 MiB, t = 3, p = 1)`.
pub(crate) struct Suite;

impl CipherSuite for Suite {
    type OprfCs = Ristretto255;
    type KeyExchange = TripleDh<Ristretto255, sha2_010::Sha512>;
    type Ksf = OpaqueKsf;
}

/// The OPAQUE context string both sides bind into the key exchange.
pub(crate) const CONTEXT: &[u8] = b"Estafette/v1/opaque";

/// Longest handle or relay origin accepted as an OPAQUE identifier, in bytes.
pub const MAX_OPAQUE_IDENTIFIER_LEN: usize = 1024;

/// The two parties' names: the handle and the relay's origin, both as UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Parties {
    pub(crate) handle: String,
    pub(crate) origin: String,
}

impl Parties {
    pub(crate) fn new(handle: &str, origin: &str) -> Result<Self> {
        check_identifier(handle, "handle")?;
        check_identifier(origin, "relay origin")?;
        Ok(Self {
            handle: handle.to_owned(),
            origin: origin.to_owned(),
        })
    }

    /// Client identity = handle, server identity = origin (never the default public keys).
    pub(crate) fn identifiers(&self) -> Identifiers<'_> {
        Identifiers {
            client: Some(self.handle.as_bytes()),
            server: Some(self.origin.as_bytes()),
        }
    }
}

/// What a client keeps between its two messages: who signs in where, with what.
pub(crate) struct ClientSide {
    pub(crate) parties: Parties,
    pub(crate) passphrase: Zeroizing<Vec<u8>>,
}

impl ClientSide {
    /// Checks the identifiers, then runs opaque-ke's first client step (blinding).
    pub(crate) fn start<T>(
        handle: &str,
        origin: &str,
        passphrase: &[u8],
        blind: impl FnOnce(&mut OsRng, &[u8]) -> core::result::Result<T, ProtocolError>,
    ) -> Result<(Self, T)> {
        let parties = Parties::new(handle, origin)?;
        let started = with_os_rng(|rng| {
            blind(rng, passphrase).map_err(|e| {
                protocol_error(
                    e,
                    "passphrase",
                    Error::Opaque("the passphrase cannot be blinded"),
                )
            })
        })?;
        let side = Self {
            parties,
            passphrase: Zeroizing::new(passphrase.to_vec()),
        };
        Ok((side, started))
    }
}

impl core::fmt::Debug for ClientSide {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientSide")
            .field("handle", &self.parties.handle)
            .field("origin", &self.parties.origin)
            .finish_non_exhaustive()
    }
}

pub(crate) fn check_identifier(value: &str, what: &'static str) -> Result<()> {
    if value.is_empty() || value.len() > MAX_OPAQUE_IDENTIFIER_LEN {
        return Err(Error::InvalidIdentifier(what));
    }
    Ok(())
}

/// Maps an opaque-ke error to the crate's; `invalid_login` is what a failed
/// authentication means at this step.
pub(crate) fn protocol_error(
    error: ProtocolError,
    what: &'static str,
    invalid_login: Error,
) -> Error {
    match error {
        ProtocolError::InvalidLoginError => invalid_login,
        ProtocolError::SerializationError | ProtocolError::SizeError { .. } => Error::Malformed {
            what,
            why: "it is not a valid OPAQUE message",
        },
        ProtocolError::ReflectedValueError => {
            Error::Opaque("the relay reflected the client's blinded value")
        }
        ProtocolError::LibraryError(InternalError::KsfError) => {
            Error::Opaque("the key stretching function failed")
        }
        ProtocolError::LibraryError(_) | ProtocolError::Custom(_) => {
            Error::Opaque("an internal step failed")
        }
    }
}
