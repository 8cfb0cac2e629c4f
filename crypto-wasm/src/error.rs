//! The one error type of the crate. Every message is a full sentence.

/// What can go wrong in Estafette cryptography.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The platform's random number generator failed.
    #[error("The platform's random number generator failed.")]
    Rng,
    /// A Diffie-Hellman exchange produced an all-zero output.
    #[error(
        "A Diffie-Hellman exchange produced an all-zero shared secret, so the peer's public key is invalid."
    )]
    NonContributoryKey,
    /// A public key could not be parsed.
    #[error("The {0} public key is not a valid key.")]
    InvalidPublicKey(&'static str),
    /// An Ed25519 signature did not verify.
    #[error("The signature on the {0} does not verify.")]
    BadSignature(&'static str),
    /// The certificate was issued by another account identity key than the one expected.
    #[error(
        "The device certificate was issued by another account identity key than the one expected."
    )]
    UnexpectedIdentity,
    /// A byte string could not be decoded.
    #[error("The {what} could not be decoded: {why}.")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        why: &'static str,
    },
    /// A serialized structure carries a format version this crate cannot read.
    #[error(
        "The {what} uses format version {version}, which this version of Estafette cannot read."
    )]
    UnsupportedVersion {
        /// What was being decoded.
        what: &'static str,
        /// The version byte found.
        version: u8,
    },
    /// A prekey identifier of zero was used; zero is reserved.
    #[error("Prekey identifier 0 is reserved; identifiers start at 1.")]
    ZeroPreKeyId,
    /// The signed prekey named by a PreKeyMessage is not held by this device.
    #[error("The signed prekey {0} is not held by this device.")]
    UnknownSignedPreKey(u32),
    /// The one-time prekey named by a PreKeyMessage was never issued by this device.
    #[error("The one-time prekey {0} was never issued by this device.")]
    UnknownOneTimePreKey(u32),
    /// The one-time prekey named by a PreKeyMessage was already used.
    #[error("The one-time prekey {0} was already used, so this PreKeyMessage is a replay.")]
    ConsumedOneTimePreKey(u32),
    /// The ML-KEM prekey named by a PreKeyMessage was never issued by this device.
    #[error("The ML-KEM prekey {0} is not held by this device.")]
    UnknownKemPreKey(u32),
    /// The one-time ML-KEM prekey named by a PreKeyMessage was already used.
    #[error(
        "The ML-KEM prekey {0} was already used or has expired, so this PreKeyMessage is refused."
    )]
    ConsumedKemPreKey(u32),
    /// A PreKeyMessage with this ephemeral key was already accepted.
    #[error("This PreKeyMessage was already accepted once, so it is a replay.")]
    PreKeyMessageReplay,
    /// A PreKeyMessage does not belong to the session it was given to.
    #[error("This PreKeyMessage starts another session than this one.")]
    SessionMismatch,
    /// AEAD authentication failed.
    #[error("The message could not be authenticated: it was altered or is not for this session.")]
    Authentication,
    /// The message key was already used or discarded.
    #[error(
        "The key for this message was already used or discarded, so the message is a replay or too old."
    )]
    MessageKeyUnavailable,
    /// A group message is for another group or sender chain than the one given.
    #[error("This group message belongs to another group or sender chain than this one.")]
    GroupMismatch,
    /// A group message is too far ahead of its sender chain.
    #[error(
        "The group message is {0} keys ahead of its sender chain; at most 2000 may be skipped."
    )]
    TooManySkippedGroupKeys(u64),
    /// The message would require skipping too many keys.
    #[error("The message is {0} keys ahead of its chain; at most 1000 may be skipped.")]
    TooManySkippedKeys(u64),
    /// A message counter overflowed.
    #[error("The message counter of this chain is exhausted; start a new session.")]
    CounterExhausted,
    /// The session has no sending chain yet.
    #[error("This session cannot send before it has received a message.")]
    NoSendingChain,
    /// The plaintext is too long for the AEAD.
    #[error("The content is too long to be encrypted.")]
    PlaintextTooLong,
    /// The plaintext padding is invalid.
    #[error("The padding of the decrypted content is invalid.")]
    Padding,
    /// The passphrase is wrong or the wrapped storage key was altered.
    #[error("The passphrase is wrong or the wrapped storage key was altered.")]
    WrongPassphrase,
    /// Argon2 parameters are out of range.
    #[error("The Argon2id parameters are outside the accepted range.")]
    Argon2Params,
    /// A sealed record could not be opened.
    #[error("The stored record could not be opened: wrong storage key, wrong place, or altered.")]
    RecordAuthentication,
    /// An OPAQUE identifier (handle or relay origin) is empty or too long.
    #[error(
        "The {0} is empty or longer than 1024 bytes, so it cannot name a party of the sign-in."
    )]
    InvalidIdentifier(&'static str),
    /// The client could not open the relay's sign-in answer.
    #[error("The handle or the passphrase is wrong.")]
    LoginFailed,
    /// The relay could not verify the client's last sign-in message (KE3).
    #[error(
        "The sign-in could not be confirmed: the final message does not verify, or belongs to another sign-in."
    )]
    LoginNotConfirmed,
    /// Another OPAQUE failure.
    #[error("The sign-in exchange failed: {0}.")]
    Opaque(&'static str),
    /// A vault could not be opened.
    #[error(
        "The vault could not be opened: it belongs to another account, passphrase or version, or it was altered."
    )]
    VaultAuthentication,
    /// A mailbox state could not be opened.
    #[error(
        "The mailbox state could not be opened: it belongs to another account, key or version, or it was altered."
    )]
    MailboxAuthentication,
    /// A history segment could not be opened.
    #[error(
        "The history segment could not be opened: it belongs to another account or history key, or it was altered."
    )]
    SegmentAuthentication,
    /// The device-bound answer to a relay challenge does not verify.
    #[error(
        "The device's answer to the relay challenge does not verify with the key in its certificate."
    )]
    RelayAuthCode,
    /// Too many retired history keys wait for their segments to be re-sealed.
    #[error(
        "Sixteen replaced history keys still wait for their segments to be re-sealed; compact the history before rotating again."
    )]
    TooManyRetiredKeys,
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
