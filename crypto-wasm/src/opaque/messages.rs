//! The OPAQUE messages as fixed-length bytes. Decoding checks the length, then lets
//! opaque-ke check the group elements, so a value of these types always parses.

use core::fmt;

use opaque_ke::{
    CredentialFinalization, CredentialRequest, CredentialResponse, RegistrationRequest as Request,
    RegistrationResponse as Response, ServerRegistration,
};

use crate::{
    Error, Result,
    opaque::suite::{Suite, protocol_error},
};

macro_rules! opaque_message {
    ($(#[$doc:meta])* $name:ident, $len_name:ident = $len:literal, $what:literal, $inner:ty) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(pub(crate) [u8; $len]);

        #[doc = concat!("Bytes in a [`", stringify!($name), "`].")]
        pub const $len_name: usize = $len;

        impl $name {
            /// Decodes the message; refuses any other length and invalid group elements.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
                let array: [u8; $len] = bytes.try_into().map_err(|_| Error::Malformed {
                    what: $what,
                    why: "it does not have the expected length",
                })?;
                let message = Self(array);
                message.parse()?;
                Ok(message)
            }

            /// The bytes to send.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            pub(crate) fn parse(&self) -> Result<$inner> {
                <$inner>::deserialize(&self.0).map_err(|e| {
                    protocol_error(
                        e,
                        $what,
                        Error::Malformed {
                            what: $what,
                            why: "it is not a valid OPAQUE message",
                        },
                    )
                })
            }

            pub(crate) fn from_opaque(bytes: &[u8]) -> Result<Self> {
                bytes.try_into().map(Self).map_err(|_| Error::Opaque(
                    concat!("opaque-ke produced a ", $what, " of an unexpected length"),
                ))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({} bytes)"), $len)
            }
        }
    };
}

opaque_message!(
    /// Registration, client to relay: the blinded passphrase.
    RegistrationRequest, REGISTRATION_REQUEST_LEN = 32, "OPAQUE registration request", Request<Suite>
);
opaque_message!(
    /// Registration, relay to client: the OPRF evaluation and the relay's OPAQUE public key.
    RegistrationResponse, REGISTRATION_RESPONSE_LEN = 64, "OPAQUE registration response", Response<Suite>
);
opaque_message!(
    /// Registration, client to relay, and what the relay stores per account: the client's
    /// public key, the masking key and the envelope (RFC 9807 "registration record").
    RegistrationRecord, REGISTRATION_RECORD_LEN = 192, "OPAQUE registration record", ServerRegistration<Suite>
);
opaque_message!(
    /// Login, client to relay (KE1).
    Ke1, KE1_LEN = 96, "OPAQUE login request (KE1)", CredentialRequest<Suite>
);
opaque_message!(
    /// Login, relay to client (KE2). Same length whether the handle exists or not.
    Ke2, KE2_LEN = 320, "OPAQUE login response (KE2)", CredentialResponse<Suite>
);
opaque_message!(
    /// Login, client to relay (KE3): proves the client opened KE2.
    Ke3, KE3_LEN = 64, "OPAQUE login finalization (KE3)", CredentialFinalization<Suite>
);
