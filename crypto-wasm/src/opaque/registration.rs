//! Registration (join, passphrase change): the client sends a blinded passphrase, the
//! relay evaluates it, the client uploads the record the relay stores.

use core::fmt;

use opaque_ke::ClientRegistrationFinishParameters;

use crate::{
    Error, Result,
    opaque::{
        keys::{ExportKey, copy_64},
        ksf::OpaqueKsf,
        messages::{RegistrationRecord, RegistrationRequest, RegistrationResponse},
        rng::with_os_rng,
        server_setup::ServerSetup,
        suite::{ClientSide, Suite, check_identifier, protocol_error},
    },
};

/// The client's side of a registration, between its two messages.
pub struct ClientRegistration {
    state: opaque_ke::ClientRegistration<Suite>,
    side: ClientSide,
}

impl ClientRegistration {
    /// Starts registering `passphrase` for `handle` at the relay `origin`
    /// (e.g. `wss://relay.example.gouv.fr`); send the request to the relay.
    pub fn start(
        handle: &str,
        origin: &str,
        passphrase: &[u8],
    ) -> Result<(Self, RegistrationRequest)> {
        let (side, started) = ClientSide::start(handle, origin, passphrase, |rng, pass| {
            opaque_ke::ClientRegistration::<Suite>::start(rng, pass)
        })?;
        let request = RegistrationRequest::from_opaque(&started.message.serialize())?;
        Ok((
            Self {
                state: started.state,
                side,
            },
            request,
        ))
    }

    /// Finishes with the relay's response: the record to upload, and the export key
    /// (from which the vault key is derived). Runs Argon2id (64 MiB).
    pub fn finish(
        self,
        response: &RegistrationResponse,
    ) -> Result<(RegistrationRecord, ExportKey)> {
        let response = response.parse()?;
        let ksf = OpaqueKsf::default();
        let finished = with_os_rng(|rng| {
            self.state
                .finish(
                    rng,
                    &self.side.passphrase,
                    response,
                    ClientRegistrationFinishParameters::new(
                        self.side.parties.identifiers(),
                        Some(&ksf),
                    ),
                )
                .map_err(|e| protocol_error(e, "OPAQUE registration response", Error::LoginFailed))
        })?;
        let record = RegistrationRecord::from_opaque(&finished.message.serialize())?;
        let export_key = copy_64(&finished.export_key)
            .ok_or(Error::Opaque("the export key has an unexpected length"))?;
        Ok((record, ExportKey(export_key)))
    }
}

impl fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientRegistration")
            .field(&self.side)
            .finish()
    }
}

impl ServerSetup {
    /// Relay side of a registration: evaluates the client's request for `handle`. The
    /// relay then stores what the client uploads, once [`RegistrationRecord::from_bytes`]
    /// has accepted it (that is the server's "finish": the record needs no more work).
    pub fn start_registration(
        &self,
        handle: &str,
        request: &RegistrationRequest,
    ) -> Result<RegistrationResponse> {
        check_identifier(handle, "handle")?;
        let started = opaque_ke::ServerRegistration::<Suite>::start(
            &self.0,
            request.parse()?,
            handle.as_bytes(),
        )
        .map_err(|e| {
            protocol_error(
                e,
                "OPAQUE registration request",
                Error::Opaque("evaluation failed"),
            )
        })?;
        RegistrationResponse::from_opaque(&started.message.serialize())
    }
}
