//! The opening of a session: `Hello` → `Welcome` with a fresh challenge →
//! `Register` (with an invitation) or `Authenticate`, answered by
//! `Authenticated` or a fatal error.

use std::collections::BTreeSet;
use std::sync::Arc;

use estafette_crypto::DeviceCertificate;
use estafette_wire::{
    AccountInfo, ChallengeAnswer, ClientFrame, ErrorCode, Register, ServerFrame, WIRE_VERSION,
    Welcome,
};
use sha2::{Digest, Sha256};

use crate::auth;
use crate::clock::now_ms;
use crate::registry::Signals;
use crate::session::close::End;
use crate::session::connection::Connection;
use crate::session::phase::Authed;
use crate::store::{NewDevice, RegisterRefusal};

/// Software name sent in `Welcome`.
pub const SOFTWARE: &str = concat!("estafette-relay/", env!("CARGO_PKG_VERSION"));

/// Before `Hello`: only `Hello` is expected. Answers `Welcome` and returns
/// the challenge it carries.
pub fn hello(conn: &Connection, frame: ClientFrame) -> Result<[u8; 32], End> {
    let ClientFrame::Hello(hello) = frame else {
        return Err(conn
            .out
            .fail(ErrorCode::UnexpectedFrame, "Send Hello first.", None));
    };
    if hello.wire_version != WIRE_VERSION {
        return Err(conn.out.fail(
            ErrorCode::UnsupportedVersion,
            "This relay speaks wire version 1.",
            None,
        ));
    }
    // Fail closed: a fixed challenge could be answered once and replayed.
    let challenge = auth::fresh_challenge(conn.shared.entropy.as_ref()).map_err(|error| {
        tracing::error!(%error, "no challenge without randomness");
        conn.out.fail(
            ErrorCode::Internal,
            "The relay cannot make a challenge now; retry later.",
            None,
        )
    })?;
    conn.out.send(&ServerFrame::Welcome(Welcome {
        wire_version: WIRE_VERSION,
        software: SOFTWARE.into(),
        challenge,
        origin: conn.origin.clone(),
    }))?;
    Ok(challenge)
}

/// After `Welcome`: the device proves itself by signing `challenge`.
/// Returns the device once it is authenticated; other frames are refused.
pub async fn answer(
    conn: &Connection,
    challenge: &[u8; 32],
    frame: ClientFrame,
) -> Result<Option<Box<Authed>>, End> {
    let out = &conn.out;
    match frame {
        ClientFrame::Register(register) => {
            register_device(conn, challenge, *register).await.map(Some)
        }
        ClientFrame::Authenticate(answer) => authenticate(conn, challenge, answer).await.map(Some),
        ClientFrame::Ping(value) => out.send(&ServerFrame::Pong(value)).map(|()| None),
        ClientFrame::UploadPreKeys { request, .. }
        | ClientFrame::Lookup { request, .. }
        | ClientFrame::Search { request, .. }
        | ClientFrame::FetchBundles { request, .. } => {
            out.error(
                ErrorCode::NotAuthenticated,
                "Authenticate first.",
                Some(request),
            );
            Ok(None)
        }
        ClientFrame::Send(_) | ClientFrame::GroupSend(_) | ClientFrame::Ack(_) => {
            out.error(ErrorCode::NotAuthenticated, "Authenticate first.", None);
            Ok(None)
        }
        ClientFrame::Hello(_) => {
            Err(out.fail(ErrorCode::UnexpectedFrame, "Hello was already sent.", None))
        }
    }
}

/// Makes an authenticated device the one this relay reaches it through.
pub fn enter(conn: &Connection, authed: &Authed) {
    let registry = &conn.shared.registry;
    registry.insert(authed.device, conn.id, authed.control.clone());
    conn.out
        .metrics()
        .devices_connected
        .set(registry.len() as i64);
}

async fn register_device(
    conn: &Connection,
    challenge: &[u8; 32],
    register: Register,
) -> Result<Box<Authed>, End> {
    let out = &conn.out;
    let Register {
        token,
        answer,
        prekeys,
    } = register;
    let certificate = verified(conn, challenge, &answer)?;
    if prekeys.signed_prekey.is_none() || prekeys.kem_last_resort.is_none() {
        return Err(out.fail(
            ErrorCode::InvalidPreKeys,
            "Registration needs a signed prekey and a last-resort ML-KEM key.",
            None,
        ));
    }
    auth::verify_prekeys(&certificate, &prekeys)
        .map_err(|code| out.fail(code, "A prekey signature does not verify.", None))?;
    let device = auth::device_id(&certificate);
    let new = NewDevice {
        token_hash: Sha256::digest(token.as_bytes()).into(),
        account_key: certificate.account_key().to_bytes(),
        device_id: device,
        certificate: answer.certificate,
        prekeys,
        now_ms: now_ms(),
    };
    let account = match conn.shared.store.register(new).await {
        Err(error) => return Err(out.internal(&error, None)),
        Ok(Err(refusal)) => {
            let (code, detail) = refusal_error(refusal);
            return Err(out.fail(code, detail, None));
        }
        Ok(Ok(account)) => account,
    };
    tracing::info!(handle = %account.handle, "device registered");
    authenticated(conn, certificate, account).await
}

/// The error code and detail a refused registration gets.
fn refusal_error(refusal: RegisterRefusal) -> (ErrorCode, &'static str) {
    match refusal {
        RegisterRefusal::InvalidToken => (ErrorCode::InvalidToken, "No invitation has this token."),
        RegisterRefusal::TokenUsed => (ErrorCode::TokenUsed, "This invitation was already used."),
        RegisterRefusal::TokenExpired => (ErrorCode::TokenExpired, "This invitation has expired."),
        RegisterRefusal::HandleTaken => (
            ErrorCode::HandleTaken,
            "This handle belongs to another identity key.",
        ),
        RegisterRefusal::Revoked => (ErrorCode::AccountRevoked, "The account was revoked."),
        RegisterRefusal::TooManyDevices => (
            ErrorCode::TooManyDevices,
            "The account has too many devices, or this device exists.",
        ),
    }
}

async fn authenticate(
    conn: &Connection,
    challenge: &[u8; 32],
    answer: ChallengeAnswer,
) -> Result<Box<Authed>, End> {
    let out = &conn.out;
    let certificate = verified(conn, challenge, &answer)?;
    let device = auth::device_id(&certificate);
    let record = match conn.shared.store.device(device).await {
        Err(error) => return Err(out.internal(&error, None)),
        Ok(None) => {
            return Err(out.fail(
                ErrorCode::UnknownDevice,
                "This device is not registered.",
                None,
            ));
        }
        Ok(Some(record)) => record,
    };
    if record.revoked {
        return Err(out.fail(ErrorCode::AccountRevoked, "The account was revoked.", None));
    }
    if record.certificate != answer.certificate {
        return Err(out.fail(
            ErrorCode::BadSignature,
            "This is not the certificate the device registered.",
            None,
        ));
    }
    authenticated(conn, certificate, record.account).await
}

/// The certificate of a valid answer to this connection's challenge.
fn verified(
    conn: &Connection,
    challenge: &[u8; 32],
    answer: &ChallengeAnswer,
) -> Result<DeviceCertificate, End> {
    auth::verify_answer(&conn.shared.challenges, challenge, &conn.origin, answer).map_err(|code| {
        conn.out
            .fail(code, "The challenge answer is not valid.", None)
    })
}

/// Answers `Authenticated` (and `PreKeysLow` when the stock runs low).
async fn authenticated(
    conn: &Connection,
    certificate: DeviceCertificate,
    account: AccountInfo,
) -> Result<Box<Authed>, End> {
    let device = auth::device_id(&certificate);
    let stock = conn
        .shared
        .store
        .prekey_stock(device)
        .await
        .map_err(|e| conn.out.internal(&e, None))?;
    let authed = Authed {
        device,
        handle: account.handle.clone(),
        certificate,
        control: Arc::new(Signals::default()),
        sent_up_to: 0,
        in_flight: BTreeSet::new(),
        more_queued: true,
    };
    conn.out.send(&ServerFrame::Authenticated {
        account,
        one_time_prekeys: stock.one_time,
        kem_one_time_prekeys: stock.kem_one_time,
    })?;
    let low = conn.shared.config.low_prekeys;
    if stock.one_time < low || stock.kem_one_time < low {
        conn.out.send(&ServerFrame::PreKeysLow {
            one_time_prekeys: stock.one_time,
            kem_one_time_prekeys: stock.kem_one_time,
        })?;
    }
    Ok(Box::new(authed))
}
