//! Device authentication: challenges and their answers (PROTOCOL.md section 2).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use estafette_crypto::{DeviceCertificate, SignedPreKeyPublic};
use estafette_wire::prekeys::kem_prekey;
use estafette_wire::{ChallengeAnswer, DeviceId, ErrorCode, PreKeyUpload};

use crate::entropy::{Entropy, EntropyError};

/// How long an answered challenge is remembered, to tell a replay from a stranger.
const REMEMBER: Duration = Duration::from_secs(600);
/// Most answered challenges remembered.
const REMEMBER_MAX: usize = 200_000;

/// Challenges already answered (successfully or not).
#[derive(Default)]
pub struct ChallengeBook {
    answered: Mutex<HashMap<[u8; 32], Instant>>,
}

impl ChallengeBook {
    /// Records that `challenge` was answered; returns whether it already was.
    pub fn mark_answered(&self, challenge: [u8; 32]) -> bool {
        let mut map = self
            .answered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if map.len() >= REMEMBER_MAX {
            map.retain(|_, at| now.duration_since(*at) < REMEMBER);
        }
        map.insert(challenge, now).is_some()
    }

    /// Whether `challenge` was answered recently.
    pub fn was_answered(&self, challenge: &[u8; 32]) -> bool {
        let map = self
            .answered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(challenge).is_some_and(|at| at.elapsed() < REMEMBER)
    }
}

/// A 32-byte random challenge; an error, never a guessable one, without randomness.
pub fn fresh_challenge(entropy: &dyn Entropy) -> Result<[u8; 32], EntropyError> {
    let mut challenge = [0u8; 32];
    entropy.fill(&mut challenge)?;
    Ok(challenge)
}

/// Checks an answer against this connection's challenge, cryptographically.
/// Returns the verified certificate. The device's registration is checked by the caller.
pub fn verify_answer(
    book: &ChallengeBook,
    mine: &[u8; 32],
    origin: &str,
    answer: &ChallengeAnswer,
) -> Result<DeviceCertificate, ErrorCode> {
    if answer.challenge != *mine {
        return Err(if book.was_answered(&answer.challenge) {
            ErrorCode::ChallengeReplayed
        } else {
            ErrorCode::StaleChallenge
        });
    }
    if book.mark_answered(*mine) {
        return Err(ErrorCode::ChallengeReplayed);
    }
    let certificate =
        DeviceCertificate::decode(&answer.certificate).map_err(|_| ErrorCode::BadSignature)?;
    certificate.verify().map_err(|_| ErrorCode::BadSignature)?;
    certificate
        .verify_relay_auth(&answer.challenge, origin, &answer.signature)
        .map_err(|_| ErrorCode::BadSignature)?;
    Ok(certificate)
}

/// The wire device id of a certificate.
pub fn device_id(certificate: &DeviceCertificate) -> DeviceId {
    DeviceId(certificate.device_id().0)
}

/// Verifies every signature and id of an upload against the device's certificate.
pub fn verify_prekeys(
    certificate: &DeviceCertificate,
    upload: &PreKeyUpload,
) -> Result<(), ErrorCode> {
    let account = certificate.account_key();
    let device = certificate.device_id();
    if let Some(spk) = &upload.signed_prekey {
        SignedPreKeyPublic::from(spk)
            .verify(account, device)
            .map_err(|_| ErrorCode::InvalidPreKeys)?;
    }
    let kem_keys = upload
        .kem_last_resort
        .iter()
        .map(|key| (key, false))
        .chain(upload.kem_one_time.iter().map(|key| (key, true)));
    for (key, one_time) in kem_keys {
        kem_prekey(key, one_time)
            .map_err(|_| ErrorCode::InvalidPreKeys)?
            .verify(account, device)
            .map_err(|_| ErrorCode::InvalidPreKeys)?;
    }
    if upload.one_time.iter().any(|k| k.id == 0) {
        return Err(ErrorCode::InvalidPreKeys);
    }
    Ok(())
}
