//! Estafette end-to-end cryptography, as specified by PROTOCOL.md.
//!
//! Pure Rust, no I/O, no async; builds natively and for `wasm32-unknown-unknown`.
//! Secret keys live in types that zeroize on drop and print no secret in `Debug`;
//! this crate exports nothing to JavaScript.
//!
//! A typical conversation:
//! ```
//! # fn main() -> Result<(), estafette_crypto::Error> {
//! use estafette_crypto::{Account, Device, DeviceId, PreKeyStore, Session};
//! let (alice, bob) = (Account::generate()?, Account::generate()?);
//! let alice_phone = Device::generate(&alice, DeviceId::generate()?, 0)?;
//! let bob_laptop = Device::generate(&bob, DeviceId::generate()?, 0)?;
//! let mut bob_prekeys = PreKeyStore::new(&bob, &bob_laptop, 0)?;
//! bob_prekeys.generate_one_time_prekeys(10)?;
//! let bundle = bob_prekeys.bundle(&bob_laptop).ok_or(estafette_crypto::Error::Rng)?;
//!
//! let (mut to_bob, first) = Session::initiate(&alice_phone, &bundle, &bob.public_key(), b"Bonjour")?;
//! let (mut to_alice, content) = Session::respond(&bob_laptop, &mut bob_prekeys, &first)?;
//! assert_eq!(&content[..], b"Bonjour");
//! let reply = to_alice.encrypt(b"Salut")?;
//! assert_eq!(&to_bob.decrypt(&reply)?[..], b"Salut");
//! # Ok(()) }
//! ```

#![cfg_attr(not(test), deny(clippy::indexing_slicing))]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs)]

mod at_rest;
mod codec;
mod error;
mod group;
mod identity;
mod message;
mod opaque;
mod padding;
mod pqxdh;
mod prekeys;
mod ratchet;
mod rng;
mod roaming;
mod safety_number;
mod types;

#[cfg(test)]
mod tests;

pub use at_rest::{Argon2Params, SEALED_RECORD_OVERHEAD, StorageKey, WRAPPED_STORAGE_KEY_LEN};
pub use error::{Error, Result};
pub use group::{
    GROUP_ID_LEN, GROUP_MESSAGE_HEADER_LEN, GROUP_MESSAGE_TYPE, GroupMessage,
    MAX_GROUP_SKIPPED_KEYS, ReceiverChain, SENDER_KEY_DISTRIBUTION_LEN, SenderChain,
    SenderKeyDistribution, group_digest,
};
pub use identity::{
    account_key::Account,
    device::Device,
    device_cert::{DEVICE_CERTIFICATE_LEN, DeviceCertificate, DeviceId},
    relay_auth::RelayChallenge,
};
pub use message::{
    MessageKind, PREKEY_MESSAGE_TYPE, RATCHET_MESSAGE_TYPE,
    prekey_message::PreKeyMessage,
    ratchet_message::{RATCHET_HEADER_LEN, RatchetHeader, RatchetMessage},
};
pub use opaque::{
    keys::{ExportKey, SessionKey},
    login::{ClientLogin, ClientLoginFinish, ServerLogin},
    messages::{
        KE1_LEN, KE2_LEN, KE3_LEN, Ke1, Ke2, Ke3, REGISTRATION_RECORD_LEN,
        REGISTRATION_REQUEST_LEN, REGISTRATION_RESPONSE_LEN, RegistrationRecord,
        RegistrationRequest, RegistrationResponse,
    },
    registration::ClientRegistration,
    server_setup::{SERVER_SETUP_LEN, ServerSetup},
    suite::MAX_OPAQUE_IDENTIFIER_LEN,
};
pub use padding::{PADDING_BLOCK, pad, unpad};
pub use prekeys::{
    bundle::PreKeyBundle,
    kem_prekey::KemPreKeyPublic,
    one_time_prekey::OneTimePreKeyPublic,
    signed_prekey::SignedPreKeyPublic,
    store::{
        MAX_ONE_TIME_PREKEYS, PreKeyStore, SEEN_BASE_KEYS_CAP, SIGNED_PREKEY_RETENTION_MS,
        SIGNED_PREKEY_ROTATION_MS,
    },
};
pub use ratchet::{MAX_SKIP, MAX_STORED_SKIPPED_KEYS, session::Session};
pub use roaming::{
    history_key::HistoryKey,
    mailbox::MailboxKey,
    restore::{RestorePlan, plan_restore},
    sealed_blob::{SEALED_BLOB_OVERHEAD, Versioned, sealed_version},
    segment::{
        MAX_SEGMENT_PLAINTEXT, OpenedSegment, SEGMENT_OVERHEAD, SEGMENT_PADDING_BLOCK,
        SealedSegment, SegmentId,
    },
    segment_header::SegmentHeader,
    vault::VaultKey,
    vault_contents::{
        AccountSettings, MAX_RETIRED_HISTORY_KEYS, MAX_VAULT_CONTENTS_LEN, VaultContents,
    },
};
pub use safety_number::{QR_PREFIX, SafetyNumber};
pub use types::{
    curve25519::X25519PublicKey,
    ed25519::AccountPublicKey,
    ml_kem::{KEM_CIPHERTEXT_LEN, KEM_PUBLIC_KEY_LEN, KemPublicKey},
};
pub use zeroize::Zeroizing;

/// The protocol version this crate implements (PROTOCOL.md, version 1).
pub const PROTOCOL_VERSION: u8 = 1;
