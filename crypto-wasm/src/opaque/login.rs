//! Login: KE1 -> KE2 -> KE3. Both sides end with the session key; only the client
//! gets the export key.

use core::fmt;

use opaque_ke::{ClientLoginFinishParameters, ServerLoginParameters};

use crate::{
    Error, Result,
    opaque::{
        keys::{ExportKey, SessionKey, copy_64},
        ksf::OpaqueKsf,
        messages::{Ke1, Ke2, Ke3, RegistrationRecord},
        rng::with_os_rng,
        server_setup::ServerSetup,
        suite::{CONTEXT, ClientSide, Parties, Suite, protocol_error},
    },
};

/// The client's side of a login, between KE1 and KE2.
pub struct ClientLogin {
    state: opaque_ke::ClientLogin<Suite>,
    side: ClientSide,
}

/// What the client holds after a successful login.
#[derive(Debug)]
pub struct ClientLoginFinish {
    /// Send it to the relay to complete the login.
    pub ke3: Ke3,
    /// Shared with the relay.
    pub session_key: SessionKey,
    /// The client's alone: derive the vault key from it.
    pub export_key: ExportKey,
}

fn missized() -> Error {
    Error::Opaque("a derived key has an unexpected length")
}

impl ClientLogin {
    /// Starts signing in as `handle` at the relay `origin`; send KE1 to the relay.
    pub fn start(handle: &str, origin: &str, passphrase: &[u8]) -> Result<(Self, Ke1)> {
        let (side, started) = ClientSide::start(handle, origin, passphrase, |rng, pass| {
            opaque_ke::ClientLogin::<Suite>::start(rng, pass)
        })?;
        let ke1 = Ke1::from_opaque(&started.message.serialize())?;
        Ok((
            Self {
                state: started.state,
                side,
            },
            ke1,
        ))
    }

    /// Opens the relay's KE2 (runs Argon2id, 64 MiB). A wrong passphrase, an unknown
    /// handle and an altered KE2 all give [`Error::LoginFailed`], and no export key.
    pub fn finish(self, ke2: &Ke2) -> Result<ClientLoginFinish> {
        let response = ke2.parse()?;
        let ksf = OpaqueKsf::default();
        let finished = with_os_rng(|rng| {
            self.state
                .finish(
                    rng,
                    &self.side.passphrase,
                    response,
                    ClientLoginFinishParameters::new(
                        Some(CONTEXT),
                        self.side.parties.identifiers(),
                        Some(&ksf),
                    ),
                )
                .map_err(|e| protocol_error(e, "OPAQUE login response (KE2)", Error::LoginFailed))
        })?;
        Ok(ClientLoginFinish {
            ke3: Ke3::from_opaque(&finished.message.serialize())?,
            session_key: SessionKey(copy_64(&finished.session_key).ok_or_else(missized)?),
            export_key: ExportKey(copy_64(&finished.export_key).ok_or_else(missized)?),
        })
    }
}

impl fmt::Debug for ClientLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientLogin").field(&self.side).finish()
    }
}

/// The relay's side of a login, between KE2 and KE3. Keep it for this connection only.
pub struct ServerLogin {
    state: opaque_ke::ServerLogin<Suite>,
    parties: Parties,
}

impl ServerLogin {
    /// Answers KE1 for `handle` at this relay's `origin`. Pass `None` as the record when
    /// the handle has no account: the answer is then built from a fake record
    /// (RFC 9807 section 6.4.2), so it looks the same and the login fails at the client.
    pub fn start(
        setup: &ServerSetup,
        record: Option<&RegistrationRecord>,
        ke1: &Ke1,
        handle: &str,
        origin: &str,
    ) -> Result<(Self, Ke2)> {
        let parties = Parties::new(handle, origin)?;
        let password_file = record.map(RegistrationRecord::parse).transpose()?;
        let request = ke1.parse()?;
        let started = with_os_rng(|rng| {
            opaque_ke::ServerLogin::start(
                rng,
                &setup.0,
                password_file,
                request,
                handle.as_bytes(),
                ServerLoginParameters {
                    context: Some(CONTEXT),
                    identifiers: parties.identifiers(),
                },
            )
            .map_err(|e| {
                protocol_error(e, "OPAQUE login request (KE1)", Error::Opaque("KE2 failed"))
            })
        })?;
        let ke2 = Ke2::from_opaque(&started.message.serialize())?;
        Ok((
            Self {
                state: started.state,
                parties,
            },
            ke2,
        ))
    }

    /// Checks KE3; on success both sides hold the same session key. A KE3 from another
    /// login (a replay) or made without the passphrase gives [`Error::LoginNotConfirmed`].
    pub fn finish(self, ke3: &Ke3) -> Result<SessionKey> {
        let finished = self
            .state
            .finish(
                ke3.parse()?,
                ServerLoginParameters {
                    context: Some(CONTEXT),
                    identifiers: self.parties.identifiers(),
                },
            )
            .map_err(|e| {
                protocol_error(
                    e,
                    "OPAQUE login finalization (KE3)",
                    Error::LoginNotConfirmed,
                )
            })?;
        Ok(SessionKey(
            copy_64(&finished.session_key).ok_or_else(missized)?,
        ))
    }
}

impl fmt::Debug for ServerLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerLogin")
            .field("handle", &self.parties.handle)
            .finish_non_exhaustive()
    }
}
