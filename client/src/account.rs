//! The user's account on this browser: join by invitation, unlock, and the
//! identity the rest of the engine works with.

use std::time::Duration;

use estafette_crypto::{
    Account, Argon2Params, Device, DeviceId as CryptoDeviceId, KemPreKeyPublic,
    OneTimePreKeyPublic, PreKeyStore,
};
use estafette_wire::{
    ChallengeAnswer, ClientFrame, ErrorCode, Hello, KemPreKey, OneTimePreKey, PreKeyUpload,
    Register, ServerFrame, SignedPreKey, WIRE_VERSION,
};
use minicbor::{Decode, Encode};
use thiserror::Error;

use crate::store::{RecordStore, StoreError, Table, Vault};
use crate::transport::{Link, LinkError, Transport, origin_of};

/// One-time prekeys of each kind published at registration.
pub const INITIAL_ONE_TIME_PREKEYS: usize = 100;

const ACCOUNT: &[u8] = b"account";
const DEVICE: &[u8] = b"device";
const PREKEYS: &[u8] = b"prekeys";
const PROFILE: &[u8] = b"profile";

/// A message for the user, in both interface languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserMessage {
    /// Français.
    pub fr: &'static str,
    /// English.
    pub en: &'static str,
}

/// Crossing between the page and its worker (`crate::bridge`), a message is
/// its two texts. The decoded texts are interned: the engine has a few dozen
/// messages, so at most [`MAX_INTERNED`] distinct texts are ever kept, and
/// anything beyond decodes to a generic message.
impl<C> minicbor::Encode<C> for UserMessage {
    fn encode<W: minicbor::encode::Write>(
        &self,
        e: &mut minicbor::Encoder<W>,
        _: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.array(2)?.str(self.fr)?.str(self.en)?.ok()
    }
}

impl<'b, C> minicbor::Decode<'b, C> for UserMessage {
    fn decode(d: &mut minicbor::Decoder<'b>, _: &mut C) -> Result<Self, minicbor::decode::Error> {
        if d.array()? != Some(2) {
            return Err(minicbor::decode::Error::message(
                "a user message has two texts",
            ));
        }
        let fr = d.str()?;
        let en = d.str()?;
        Ok(UserMessage::interned(fr, en))
    }
}

impl UserMessage {
    /// The message with these texts, kept for the life of the page (see
    /// [`MAX_INTERNED`]).
    pub(crate) fn interned(fr: &str, en: &str) -> Self {
        match (intern(fr), intern(en)) {
            (Some(fr), Some(en)) => UserMessage { fr, en },
            _ => UserMessage {
                fr: "Une erreur inattendue est survenue.",
                en: "An unexpected error occurred.",
            },
        }
    }
}

/// Distinct message texts kept at most by [`intern`].
const MAX_INTERNED: usize = 512;

fn intern(text: &str) -> Option<&'static str> {
    thread_local! {
        static TEXTS: std::cell::RefCell<std::collections::BTreeSet<&'static str>> =
            const { std::cell::RefCell::new(std::collections::BTreeSet::new()) };
    }
    TEXTS.with_borrow_mut(|texts| {
        if let Some(known) = texts.get(text) {
            return Some(*known);
        }
        if texts.len() >= MAX_INTERNED {
            return None;
        }
        let kept: &'static str = Box::leak(text.to_owned().into_boxed_str());
        texts.insert(kept);
        Some(kept)
    })
}

/// Who the user is on the relay.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Profile {
    /// Handle (`prenom.nom@ministere.gouv.fr`).
    #[n(0)]
    pub handle: String,
    /// Display name, as the administrator wrote it.
    #[n(1)]
    pub name: String,
    /// The relay's WebSocket URL.
    #[n(2)]
    pub relay_url: String,
}

/// The unlocked account: keys and profile. Secrets zeroize on drop.
pub struct Identity {
    /// Account identity key.
    pub account: Account,
    /// This device.
    pub device: Device,
    /// Prekeys and their secrets.
    pub prekeys: PreKeyStore,
    /// Handle and name.
    pub profile: Profile,
}

/// Why joining failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum JoinError {
    /// This browser already holds an account in this store.
    #[error("An account already exists in this browser store.")]
    AlreadyJoined,
    /// The relay answered with an error.
    #[error("The relay refused the registration: {0:?}.")]
    Refused(ErrorCode),
    /// The relay expects another origin than the one we reached.
    #[error("The relay expects the origin {expected}, but this page reached {reached}.")]
    OriginMismatch {
        /// What the relay announced.
        expected: String,
        /// What we connected to.
        reached: String,
    },
    /// The relay said something unexpected.
    #[error("The relay answered out of protocol.")]
    Protocol,
    /// No answer in time.
    #[error("The relay did not answer in time.")]
    Timeout,
    /// The link failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Local storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Key generation failed.
    #[error("Keys could not be generated: {0}")]
    Crypto(String),
}

impl JoinError {
    /// What to tell the user.
    pub fn user_message(&self) -> UserMessage {
        match self {
            JoinError::Refused(ErrorCode::TokenUsed) => UserMessage {
                fr: "Ce lien d’invitation a déjà servi. Demandez-en un nouveau à votre administrateur.",
                en: "This invitation link was already used. Ask your administrator for a new one.",
            },
            JoinError::Refused(ErrorCode::TokenExpired) => UserMessage {
                fr: "Ce lien d’invitation a expiré. Demandez-en un nouveau à votre administrateur.",
                en: "This invitation link has expired. Ask your administrator for a new one.",
            },
            JoinError::Refused(ErrorCode::InvalidToken) => UserMessage {
                fr: "Ce lien d’invitation n’est pas valide. Vérifiez qu’il est complet.",
                en: "This invitation link is not valid. Check that it is complete.",
            },
            JoinError::Refused(ErrorCode::AccountRevoked) => UserMessage {
                fr: "Ce compte a été désactivé par un administrateur.",
                en: "This account was disabled by an administrator.",
            },
            JoinError::Refused(ErrorCode::HandleTaken) => UserMessage {
                fr: "Cette adresse est déjà liée à un autre compte. Contactez votre administrateur.",
                en: "This address is already bound to another account. Contact your administrator.",
            },
            JoinError::AlreadyJoined => UserMessage {
                fr: "Un compte existe déjà dans ce navigateur. Déverrouillez-le ou effacez-le d’abord.",
                en: "An account already exists in this browser. Unlock it or erase it first.",
            },
            JoinError::Link(_) | JoinError::Timeout => UserMessage {
                fr: "Le serveur est injoignable. Vérifiez votre connexion et réessayez.",
                en: "The server cannot be reached. Check your connection and try again.",
            },
            JoinError::Store(_) => UserMessage {
                fr: "Le navigateur n’a pas pu enregistrer vos clés (stockage plein ou interdit ?).",
                en: "The browser could not save your keys (storage full or blocked?).",
            },
            _ => UserMessage {
                fr: "L’inscription a échoué. Réessayez ; si cela persiste, contactez votre administrateur.",
                en: "Registration failed. Try again; if it persists, contact your administrator.",
            },
        }
    }
}

fn crypto(error: estafette_crypto::Error) -> JoinError {
    JoinError::Crypto(error.to_string())
}

pub(crate) fn now_ms() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as u64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A public ML-KEM prekey as the wire carries it.
pub(crate) fn kem_wire(key: &KemPreKeyPublic) -> KemPreKey {
    KemPreKey {
        id: key.id,
        public_key: key.public_key.as_bytes().to_vec(),
        signature: key.signature,
    }
}

/// A public one-time X25519 prekey as the wire carries it.
pub(crate) fn one_time_wire(key: &OneTimePreKeyPublic) -> OneTimePreKey {
    OneTimePreKey {
        id: key.id,
        public_key: key.public_key.to_bytes(),
    }
}

async fn next_frame(link: &mut impl Link) -> Result<ServerFrame, JoinError> {
    let bytes = with_timeout(link.recv()).await??;
    ServerFrame::decode(&bytes).map_err(|_| JoinError::Protocol)
}

async fn with_timeout<F: std::future::Future>(future: F) -> Result<F::Output, JoinError> {
    const LIMIT: Duration = Duration::from_secs(15);
    #[cfg(not(target_arch = "wasm32"))]
    {
        tokio::time::timeout(LIMIT, future)
            .await
            .map_err(|_| JoinError::Timeout)
    }
    #[cfg(target_arch = "wasm32")]
    {
        use futures::future::{Either, select};
        let timer = gloo_timers::future::TimeoutFuture::new(LIMIT.as_millis() as u32);
        match select(std::pin::pin!(future), timer).await {
            Either::Left((output, _)) => Ok(output),
            Either::Right(_) => Err(JoinError::Timeout),
        }
    }
}

/// Joins with an invitation token: creates the keys, seals them under
/// `passphrase` in `vault` *before* spending the token, registers with the
/// relay, and returns the unlocked identity. On failure nothing stays stored.
pub async fn join<S: RecordStore, T: Transport>(
    vault: &Vault<S>,
    transport: &T,
    relay_url: &str,
    token: &str,
    passphrase: &str,
    params: &Argon2Params,
) -> Result<Identity, JoinError> {
    if vault.is_set_up().await? {
        return Err(JoinError::AlreadyJoined);
    }
    let account = Account::generate().map_err(crypto)?;
    let device = Device::generate(
        &account,
        CryptoDeviceId::generate().map_err(crypto)?,
        now_ms(),
    )
    .map_err(crypto)?;
    let mut prekeys = PreKeyStore::new(&account, &device, now_ms()).map_err(crypto)?;
    let one_time = prekeys
        .generate_one_time_prekeys(INITIAL_ONE_TIME_PREKEYS)
        .map_err(crypto)?;
    let kem_one_time = prekeys
        .generate_kem_one_time_prekeys(&account, INITIAL_ONE_TIME_PREKEYS, now_ms())
        .map_err(crypto)?;
    let spk = prekeys.signed_prekey().ok_or(JoinError::Protocol)?;
    let last_resort = prekeys
        .kem_last_resort_prekey()
        .ok_or(JoinError::Protocol)?;
    let upload = PreKeyUpload {
        signed_prekey: Some(SignedPreKey {
            id: spk.id,
            public_key: spk.public_key.to_bytes(),
            signature: spk.signature,
        }),
        kem_last_resort: Some(kem_wire(&last_resort)),
        one_time: one_time.iter().map(one_time_wire).collect(),
        kem_one_time: kem_one_time.iter().map(kem_wire).collect(),
    };

    // Seal first: a spent token with lost keys would strand the user.
    vault.create(passphrase, params).await?;
    let mut identity = Identity {
        account,
        device,
        prekeys,
        profile: Profile {
            handle: String::new(),
            name: String::new(),
            relay_url: relay_url.to_owned(),
        },
    };
    let result = register(&mut identity, transport, relay_url, token, upload).await;
    let result = match result {
        Ok(()) => persist(vault, &identity).await.map_err(JoinError::from),
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => Ok(identity),
        Err(error) => {
            // Nothing half-made stays in the browser.
            let _ = vault.erase().await;
            Err(error)
        }
    }
}

async fn register<T: Transport>(
    identity: &mut Identity,
    transport: &T,
    relay_url: &str,
    token: &str,
    prekeys: PreKeyUpload,
) -> Result<(), JoinError> {
    let mut link = with_timeout(transport.connect(relay_url)).await??;
    let hello = ClientFrame::Hello(Hello {
        wire_version: WIRE_VERSION,
        software: crate::SOFTWARE.into(),
    });
    link.send(hello.encode()).await?;
    let welcome = match next_frame(&mut link).await? {
        ServerFrame::Welcome(welcome) => welcome,
        ServerFrame::Error { code, .. } => return Err(JoinError::Refused(code)),
        _ => return Err(JoinError::Protocol),
    };
    // Sign the origin we reached, never the one the relay names.
    let reached = origin_of(relay_url);
    if welcome.origin != reached {
        return Err(JoinError::OriginMismatch {
            expected: welcome.origin,
            reached,
        });
    }
    let device_id = identity.device.device_id();
    let answer = ChallengeAnswer {
        challenge: welcome.challenge,
        certificate: identity.device.certificate().encode().to_vec(),
        signature: identity
            .account
            .sign_relay_challenge(&welcome.challenge, device_id, &reached),
    };
    let register = Register {
        token: token.to_owned(),
        answer,
        prekeys,
    };
    link.send(ClientFrame::Register(Box::new(register)).encode())
        .await?;
    match next_frame(&mut link).await? {
        ServerFrame::Authenticated { account, .. } => {
            identity.profile.handle = account.handle;
            identity.profile.name = account.name;
            Ok(())
        }
        ServerFrame::Error { code, .. } => Err(JoinError::Refused(code)),
        _ => Err(JoinError::Protocol),
    }
}

fn encode_profile(profile: &Profile) -> Vec<u8> {
    let mut out = Vec::new();
    match minicbor::encode(profile, &mut out) {
        Ok(()) | Err(_) => out,
    }
}

async fn persist<S: RecordStore>(vault: &Vault<S>, identity: &Identity) -> Result<(), StoreError> {
    let writes = vec![
        vault.seal(Table::Account, ACCOUNT, &identity.account.to_bytes())?,
        vault.seal(Table::Account, DEVICE, &identity.device.to_bytes())?,
        vault.seal(Table::Account, PREKEYS, &identity.prekeys.to_bytes())?,
        vault.seal(Table::Account, PROFILE, &encode_profile(&identity.profile))?,
    ];
    vault.write(writes).await
}

/// Why unlocking failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum UnlockError {
    /// Wrong passphrase, no account, or storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored key record does not decode.
    #[error("The stored {0} cannot be decoded.")]
    Corrupt(&'static str),
}

/// Unlocks the vault with `passphrase` and loads the identity.
pub async fn unlock<S: RecordStore>(
    vault: &Vault<S>,
    passphrase: &str,
) -> Result<Identity, UnlockError> {
    vault.unlock(passphrase).await?;
    let load = |name: &'static str| async move {
        vault
            .get(Table::Account, name.as_bytes())
            .await?
            .ok_or(UnlockError::Corrupt(name))
    };
    let account = Account::from_bytes(&load("account").await?)
        .map_err(|_| UnlockError::Corrupt("account key"))?;
    let device = Device::from_bytes(&load("device").await?)
        .map_err(|_| UnlockError::Corrupt("device key"))?;
    let prekeys = PreKeyStore::from_bytes(&load("prekeys").await?)
        .map_err(|_| UnlockError::Corrupt("prekeys"))?;
    let profile: Profile =
        minicbor::decode(&load("profile").await?).map_err(|_| UnlockError::Corrupt("profile"))?;
    Ok(Identity {
        account,
        device,
        prekeys,
        profile,
    })
}
