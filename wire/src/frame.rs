use minicbor::{Decode, Encode};

use crate::WireError;
use crate::limits::{
    DEVICE_CERTIFICATE_BYTES, KEM_PUBLIC_KEY_BYTES, MAX_DEVICES_PER_ACCOUNT,
    MAX_ENVELOPES_PER_SEND, MAX_FRAME_BYTES, MAX_GROUP_ACCOUNTS, MAX_GROUP_DEVICES,
    MAX_HANDLE_BYTES, MAX_NAME_BYTES, MAX_PAYLOAD_BYTES, MAX_PREKEYS_PER_UPLOAD, MAX_QUERY_BYTES,
    MAX_SEARCH_RESULTS, MAX_TEXT_BYTES, MAX_TOKEN_BYTES,
};

/// A device id (16 bytes, chosen by the device, named in its certificate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(transparent)]
pub struct DeviceId(#[cbor(n(0), with = "minicbor::bytes")] pub [u8; 16]);

/// First frame a client sends once its WebSocket is open.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Hello {
    /// [`crate::WIRE_VERSION`] of the client.
    #[n(0)]
    pub wire_version: u16,
    /// Client software and version, for logs and metrics (e.g. `estafette-web/0.1.0`).
    #[n(1)]
    pub software: String,
}

/// The relay's answer to a [`Hello`] it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Welcome {
    /// [`crate::WIRE_VERSION`] the relay will speak on this connection.
    #[n(0)]
    pub wire_version: u16,
    /// Relay software and version.
    #[n(1)]
    pub software: String,
    /// Random challenge to sign (PROTOCOL.md section 2, relay authentication).
    #[cbor(n(2), with = "minicbor::bytes")]
    pub challenge: [u8; 32],
    /// The origin the relay expects in the signature (e.g. `wss://relay.gouv.fr`).
    #[n(3)]
    pub origin: String,
}

/// A device's answer to the challenge: its certificate and the AIK's signature.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ChallengeAnswer {
    /// The challenge signed (must be this connection's, unused).
    #[cbor(n(0), with = "minicbor::bytes")]
    pub challenge: [u8; 32],
    /// Device certificate (152 bytes).
    #[cbor(n(1), with = "minicbor::bytes")]
    pub certificate: Vec<u8>,
    /// `SIG.sign(AIK, "Estafette/v1/relay-auth" || 0x00 || challenge || device_id || origin)`.
    #[cbor(n(2), with = "minicbor::bytes")]
    pub signature: [u8; 64],
}

/// A signed X25519 prekey (SPK).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SignedPreKey {
    /// Non-zero id.
    #[n(0)]
    pub id: u32,
    /// X25519 public key.
    #[cbor(n(1), with = "minicbor::bytes")]
    pub public_key: [u8; 32],
    /// AIK signature.
    #[cbor(n(2), with = "minicbor::bytes")]
    pub signature: [u8; 64],
}

/// A signed ML-KEM-1024 prekey (last resort or one-time).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct KemPreKey {
    /// Non-zero id.
    #[n(0)]
    pub id: u32,
    /// ML-KEM-1024 encapsulation key (1568 bytes).
    #[cbor(n(1), with = "minicbor::bytes")]
    pub public_key: Vec<u8>,
    /// AIK signature.
    #[cbor(n(2), with = "minicbor::bytes")]
    pub signature: [u8; 64],
}

/// An unsigned one-time X25519 prekey.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct OneTimePreKey {
    /// Non-zero id.
    #[n(0)]
    pub id: u32,
    /// X25519 public key.
    #[cbor(n(1), with = "minicbor::bytes")]
    pub public_key: [u8; 32],
}

/// Prekeys a device publishes (all optional but at registration).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode)]
pub struct PreKeyUpload {
    /// New signed prekey, replacing the current one.
    #[n(0)]
    pub signed_prekey: Option<SignedPreKey>,
    /// New last-resort ML-KEM key, replacing the current one.
    #[n(1)]
    pub kem_last_resort: Option<KemPreKey>,
    /// One-time X25519 prekeys to add.
    #[n(2)]
    pub one_time: Vec<OneTimePreKey>,
    /// One-time ML-KEM prekeys to add.
    #[n(3)]
    pub kem_one_time: Vec<KemPreKey>,
}

/// Registration with an invitation token.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Register {
    /// Token from the join URL.
    #[n(0)]
    pub token: String,
    /// Certificate and challenge signature of the first device.
    #[n(1)]
    pub answer: ChallengeAnswer,
    /// Must hold a signed prekey and a last-resort ML-KEM key.
    #[n(2)]
    pub prekeys: PreKeyUpload,
}

/// One copy of a message, for one device.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Envelope {
    /// Handle of the recipient account.
    #[n(0)]
    pub handle: String,
    /// Recipient device.
    #[n(1)]
    pub device: DeviceId,
    /// Ciphertext (opaque to the relay).
    #[cbor(n(2), with = "minicbor::bytes")]
    pub payload: Vec<u8>,
}

/// A message for several devices, stored all-or-nothing.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Send {
    /// Chosen by the client; resending the same id stores nothing new.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub idempotency_id: [u8; 16],
    /// One copy per device of every addressed account.
    #[n(1)]
    pub envelopes: Vec<Envelope>,
}

/// Devices of one account addressed by a group send.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct GroupRecipient {
    /// Handle of the account (at most [`MAX_HANDLE_BYTES`]).
    #[n(0)]
    pub handle: String,
    /// Its addressed devices (at most [`MAX_DEVICES_PER_ACCOUNT`], non-empty).
    #[n(1)]
    pub devices: Vec<DeviceId>,
}

/// One ciphertext for many devices (a Sender Keys group message): the relay
/// stores it once, with a queue entry per addressed device.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct GroupSend {
    /// Chosen by the client, in the same id space as [`Send`]'s.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub idempotency_id: [u8; 16],
    /// At most [`MAX_GROUP_ACCOUNTS`] accounts and [`MAX_GROUP_DEVICES`] devices in all.
    #[n(1)]
    pub recipients: Vec<GroupRecipient>,
    /// Ciphertext (opaque to the relay), at most [`MAX_PAYLOAD_BYTES`].
    #[cbor(n(2), with = "minicbor::bytes")]
    pub payload: Vec<u8>,
}

/// Public facts about an account, from the directory.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct AccountInfo {
    /// Unique handle.
    #[n(0)]
    pub handle: String,
    /// Display name.
    #[n(1)]
    pub name: String,
    /// Account identity key (Ed25519 public key); empty until the account registers.
    #[cbor(n(2), with = "minicbor::bytes")]
    pub account_key: Vec<u8>,
    /// Current devices.
    #[n(3)]
    pub devices: Vec<DeviceId>,
}

/// Why a `Send` addressed the wrong devices of one account.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StaleAccount {
    /// The account.
    #[n(0)]
    pub handle: String,
    /// Devices of the account the send left out.
    #[n(1)]
    pub missing: Vec<DeviceId>,
    /// Devices addressed that the account does not have (any more).
    #[n(2)]
    pub extra: Vec<DeviceId>,
}

/// A stored copy delivered to its device.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Delivery {
    /// Queue position; `Ack` it once stored.
    #[n(0)]
    pub delivery_id: u64,
    /// Sender account.
    #[n(1)]
    pub sender: String,
    /// Sender device.
    #[n(2)]
    pub sender_device: DeviceId,
    /// When the relay accepted it (ms since the Unix epoch).
    #[n(3)]
    pub accepted_at_ms: u64,
    /// Ciphertext.
    #[cbor(n(4), with = "minicbor::bytes")]
    pub payload: Vec<u8>,
}

/// Machine-readable reason carried by [`ServerFrame::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
#[cbor(index_only)]
#[repr(u8)]
pub enum ErrorCode {
    /// The frame could not be decoded or exceeded a limit. Fatal.
    #[n(1)]
    MalformedFrame = 1,
    /// The client's wire version is not spoken by this relay. Fatal.
    #[n(2)]
    UnsupportedVersion = 2,
    /// The frame is valid but not expected in the connection's current state. Fatal.
    #[n(3)]
    UnexpectedFrame = 3,
    /// The relay is shutting down; reconnect later. Fatal.
    #[n(4)]
    ShuttingDown = 4,
    /// No invitation has this token. Fatal.
    #[n(5)]
    InvalidToken = 5,
    /// The invitation was already used. Fatal.
    #[n(6)]
    TokenUsed = 6,
    /// The invitation has expired. Fatal.
    #[n(7)]
    TokenExpired = 7,
    /// The handle is bound to another account identity key. Fatal.
    #[n(8)]
    HandleTaken = 8,
    /// The relay does not know this device. Fatal.
    #[n(9)]
    UnknownDevice = 9,
    /// The account was revoked by an administrator. Fatal.
    #[n(10)]
    AccountRevoked = 10,
    /// A certificate or signature does not verify. Fatal.
    #[n(11)]
    BadSignature = 11,
    /// The challenge was already answered once. Fatal.
    #[n(12)]
    ChallengeReplayed = 12,
    /// The challenge is not this connection's (unknown or expired). Fatal.
    #[n(13)]
    StaleChallenge = 13,
    /// No answer to the challenge in time. Fatal.
    #[n(14)]
    AuthTimeout = 14,
    /// Another connection of the same device replaced this one. Fatal.
    #[n(15)]
    Replaced = 15,
    /// The frame needs an authenticated device.
    #[n(16)]
    NotAuthenticated = 16,
    /// No such account.
    #[n(17)]
    NotFound = 17,
    /// Too many requests; slow down.
    #[n(18)]
    RateLimited = 18,
    /// Prekeys are invalid (bad signature, zero id, wrong length).
    #[n(19)]
    InvalidPreKeys = 19,
    /// The device already stores the maximum of that kind of prekey.
    #[n(20)]
    TooManyPreKeys = 20,
    /// The account has the maximum number of devices.
    #[n(21)]
    TooManyDevices = 21,
    /// The relay failed; retry later.
    #[n(22)]
    Internal = 22,
}

impl ErrorCode {
    /// Whether the relay closes the connection after sending it.
    pub fn is_fatal(self) -> bool {
        (self as u8) <= Self::Replaced as u8
    }

    /// Stable snake_case name, for metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::MalformedFrame => "malformed_frame",
            Self::UnsupportedVersion => "unsupported_version",
            Self::UnexpectedFrame => "unexpected_frame",
            Self::ShuttingDown => "shutting_down",
            Self::InvalidToken => "invalid_token",
            Self::TokenUsed => "token_used",
            Self::TokenExpired => "token_expired",
            Self::HandleTaken => "handle_taken",
            Self::UnknownDevice => "unknown_device",
            Self::AccountRevoked => "account_revoked",
            Self::BadSignature => "bad_signature",
            Self::ChallengeReplayed => "challenge_replayed",
            Self::StaleChallenge => "stale_challenge",
            Self::AuthTimeout => "auth_timeout",
            Self::Replaced => "replaced",
            Self::NotAuthenticated => "not_authenticated",
            Self::NotFound => "not_found",
            Self::RateLimited => "rate_limited",
            Self::InvalidPreKeys => "invalid_prekeys",
            Self::TooManyPreKeys => "too_many_prekeys",
            Self::TooManyDevices => "too_many_devices",
            Self::Internal => "internal",
        }
    }

    /// The WebSocket close code that follows a fatal error (4000 + code).
    pub fn close_code(self) -> u16 {
        4000 + self as u16
    }
}

/// Frames sent by a client. Requests that expect an answer carry a `request`
/// number the answer repeats.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum ClientFrame {
    /// Opens the conversation with the relay.
    #[n(0)]
    Hello(#[n(0)] Hello),
    /// Application-level keep-alive; answered by [`ServerFrame::Pong`].
    #[n(1)]
    Ping(#[n(0)] u64),
    /// Creates the account (or adds a device to it) with an invitation.
    #[n(2)]
    Register(#[n(0)] Box<Register>),
    /// Authenticates a registered device.
    #[n(3)]
    Authenticate(#[n(0)] ChallengeAnswer),
    /// Publishes prekeys; answered by [`ServerFrame::PreKeysStored`].
    #[n(4)]
    UploadPreKeys {
        /// Echoed in the answer.
        #[n(0)]
        request: u32,
        /// The keys.
        #[n(1)]
        prekeys: Box<PreKeyUpload>,
    },
    /// Looks an account up by exact handle; answered by [`ServerFrame::Account`].
    #[n(5)]
    Lookup {
        /// Echoed in the answer.
        #[n(0)]
        request: u32,
        /// Exact handle.
        #[n(1)]
        handle: String,
    },
    /// Searches the directory by name or handle prefix.
    #[n(6)]
    Search {
        /// Echoed in the answer.
        #[n(0)]
        request: u32,
        /// At least 2 characters.
        #[n(1)]
        query: String,
    },
    /// Fetches one prekey bundle per device of an account, consuming one-time keys.
    #[n(7)]
    FetchBundles {
        /// Echoed in the answer.
        #[n(0)]
        request: u32,
        /// Exact handle.
        #[n(1)]
        handle: String,
    },
    /// Stores copies for several devices, all or nothing.
    #[n(8)]
    Send(#[n(0)] Send),
    /// Confirms a delivery was stored; the relay deletes its copy.
    #[n(9)]
    Ack(#[n(0)] u64),
    /// Stores one ciphertext for many devices.
    #[n(10)]
    GroupSend(#[n(0)] GroupSend),
}

/// One device's prekey bundle (PROTOCOL.md section 2), as the relay holds it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Bundle {
    /// Device certificate.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub certificate: Vec<u8>,
    /// Current signed prekey.
    #[n(1)]
    pub signed_prekey: SignedPreKey,
    /// A one-time ML-KEM key, or the last-resort one when none is left.
    #[n(2)]
    pub kem_prekey: KemPreKey,
    /// Whether `kem_prekey` is one-time.
    #[n(3)]
    pub kem_one_time: bool,
    /// A one-time X25519 key, if any was left.
    #[n(4)]
    pub one_time: Option<OneTimePreKey>,
}

/// Frames sent by the relay.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum ServerFrame {
    /// Accepts a [`ClientFrame::Hello`].
    #[n(0)]
    Welcome(#[n(0)] Welcome),
    /// Answers [`ClientFrame::Ping`] with the same value.
    #[n(1)]
    Pong(#[n(0)] u64),
    /// Something went wrong; the relay closes the connection after fatal errors.
    #[n(2)]
    Error {
        /// What went wrong.
        #[n(0)]
        code: ErrorCode,
        /// A short English explanation for logs; never shown to users as is.
        #[n(1)]
        detail: String,
        /// The request this answers, if it answers one.
        #[n(2)]
        request: Option<u32>,
    },
    /// The device is authenticated (after `Register` or `Authenticate`).
    #[n(3)]
    Authenticated {
        /// The account.
        #[n(0)]
        account: AccountInfo,
        /// One-time X25519 prekeys the relay still holds for this device.
        #[n(1)]
        one_time_prekeys: u32,
        /// One-time ML-KEM prekeys the relay still holds for this device.
        #[n(2)]
        kem_one_time_prekeys: u32,
    },
    /// Answers [`ClientFrame::UploadPreKeys`] with the stock now held.
    #[n(4)]
    PreKeysStored {
        /// The request.
        #[n(0)]
        request: u32,
        /// One-time X25519 prekeys held.
        #[n(1)]
        one_time_prekeys: u32,
        /// One-time ML-KEM prekeys held.
        #[n(2)]
        kem_one_time_prekeys: u32,
    },
    /// The device's stock of one-time prekeys runs low; upload more.
    #[n(5)]
    PreKeysLow {
        /// One-time X25519 prekeys left.
        #[n(0)]
        one_time_prekeys: u32,
        /// One-time ML-KEM prekeys left.
        #[n(1)]
        kem_one_time_prekeys: u32,
    },
    /// Answers [`ClientFrame::Lookup`].
    #[n(6)]
    Account {
        /// The request.
        #[n(0)]
        request: u32,
        /// The account.
        #[n(1)]
        account: AccountInfo,
    },
    /// Answers [`ClientFrame::Search`].
    #[n(7)]
    SearchResults {
        /// The request.
        #[n(0)]
        request: u32,
        /// At most [`MAX_SEARCH_RESULTS`] accounts, devices omitted.
        #[n(1)]
        accounts: Vec<AccountInfo>,
    },
    /// Answers [`ClientFrame::FetchBundles`].
    #[n(8)]
    Bundles {
        /// The request.
        #[n(0)]
        request: u32,
        /// The account.
        #[n(1)]
        account: AccountInfo,
        /// One bundle per device.
        #[n(2)]
        bundles: Vec<Bundle>,
    },
    /// The `Send` is stored (or was already).
    #[n(9)]
    Accepted(#[cbor(n(0), with = "minicbor::bytes")] [u8; 16]),
    /// The `Send` addressed the wrong devices; nothing was stored.
    #[n(10)]
    StaleDevices {
        /// The send.
        #[cbor(n(0), with = "minicbor::bytes")]
        idempotency_id: [u8; 16],
        /// Per account, the devices to add and to drop.
        #[n(1)]
        accounts: Vec<StaleAccount>,
    },
    /// A recipient's queue is full; nothing was stored.
    #[n(11)]
    QueueFull {
        /// The send.
        #[cbor(n(0), with = "minicbor::bytes")]
        idempotency_id: [u8; 16],
        /// The account whose device queue is full.
        #[n(1)]
        handle: String,
    },
    /// A stored copy for this device.
    #[n(12)]
    Deliver(#[n(0)] Delivery),
    /// The `GroupSend` is stored, but not for these devices: their queue is
    /// full (count or bytes). Only sent when at least one device was skipped;
    /// otherwise the answer is [`ServerFrame::Accepted`].
    #[n(13)]
    GroupAccepted {
        /// The send.
        #[cbor(n(0), with = "minicbor::bytes")]
        idempotency_id: [u8; 16],
        /// The devices skipped, per account.
        #[n(1)]
        queue_full: Vec<GroupRecipient>,
    },
}

fn check_len(field: &'static str, len: usize, limit: usize) -> Result<(), WireError> {
    if len > limit {
        return Err(WireError::TooLong {
            field,
            size: len,
            limit,
        });
    }
    Ok(())
}

fn check_exact(field: &'static str, len: usize, expected: usize) -> Result<(), WireError> {
    if len != expected {
        return Err(WireError::WrongLength {
            field,
            size: len,
            expected,
        });
    }
    Ok(())
}

fn check_kem(key: &KemPreKey) -> Result<(), WireError> {
    check_exact(
        "ML-KEM public key",
        key.public_key.len(),
        KEM_PUBLIC_KEY_BYTES,
    )
}

fn check_upload(upload: &PreKeyUpload) -> Result<(), WireError> {
    if let Some(key) = &upload.kem_last_resort {
        check_kem(key)?;
    }
    check_len(
        "one-time prekeys",
        upload.one_time.len(),
        MAX_PREKEYS_PER_UPLOAD,
    )?;
    check_len(
        "ML-KEM one-time prekeys",
        upload.kem_one_time.len(),
        MAX_PREKEYS_PER_UPLOAD,
    )?;
    upload.kem_one_time.iter().try_for_each(check_kem)
}

fn check_answer(answer: &ChallengeAnswer) -> Result<(), WireError> {
    check_exact(
        "device certificate",
        answer.certificate.len(),
        DEVICE_CERTIFICATE_BYTES,
    )
}

fn check_account(account: &AccountInfo) -> Result<(), WireError> {
    check_len("handle", account.handle.len(), MAX_HANDLE_BYTES)?;
    check_len("name", account.name.len(), MAX_NAME_BYTES)?;
    check_len("account key", account.account_key.len(), 32)?;
    check_len("devices", account.devices.len(), MAX_DEVICES_PER_ACCOUNT)
}

/// Counts of a group send's (or its answer's) recipients.
fn check_recipients(recipients: &[GroupRecipient]) -> Result<(), WireError> {
    check_len("group accounts", recipients.len(), MAX_GROUP_ACCOUNTS)?;
    let mut devices = 0usize;
    for recipient in recipients {
        check_len("handle", recipient.handle.len(), MAX_HANDLE_BYTES)?;
        check_len("devices", recipient.devices.len(), MAX_DEVICES_PER_ACCOUNT)?;
        devices += recipient.devices.len();
    }
    check_len("group devices", devices, MAX_GROUP_DEVICES)
}

fn encode<T: Encode<()>>(value: &T) -> Vec<u8> {
    // Writing into a Vec cannot fail: its error type is Infallible.
    let mut out = Vec::new();
    match minicbor::encode(value, &mut out) {
        Ok(()) | Err(_) => out,
    }
}

fn decode<'b, T: Decode<'b, ()>>(bytes: &'b [u8]) -> Result<T, WireError> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(WireError::FrameTooLarge {
            size: bytes.len(),
            limit: MAX_FRAME_BYTES,
        });
    }
    let mut decoder = minicbor::Decoder::new(bytes);
    let value = decoder
        .decode::<T>()
        .map_err(|e| WireError::Malformed(e.to_string()))?;
    let rest = bytes.len().saturating_sub(decoder.position());
    if rest != 0 {
        return Err(WireError::TrailingBytes(rest));
    }
    Ok(value)
}

impl ClientFrame {
    /// Encodes the frame as CBOR.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes one frame, enforcing every limit.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let frame: Self = decode(bytes)?;
        match &frame {
            Self::Hello(hello) => check_len("software", hello.software.len(), MAX_TEXT_BYTES)?,
            Self::Ping(_) | Self::Ack(_) => {}
            Self::Register(register) => {
                check_len("token", register.token.len(), MAX_TOKEN_BYTES)?;
                check_answer(&register.answer)?;
                check_upload(&register.prekeys)?;
            }
            Self::Authenticate(answer) => check_answer(answer)?,
            Self::UploadPreKeys { prekeys, .. } => check_upload(prekeys)?,
            Self::Lookup { handle, .. } | Self::FetchBundles { handle, .. } => {
                check_len("handle", handle.len(), MAX_HANDLE_BYTES)?
            }
            Self::Search { query, .. } => check_len("query", query.len(), MAX_QUERY_BYTES)?,
            Self::Send(send) => {
                check_len("envelopes", send.envelopes.len(), MAX_ENVELOPES_PER_SEND)?;
                for envelope in &send.envelopes {
                    check_len("handle", envelope.handle.len(), MAX_HANDLE_BYTES)?;
                    check_len("payload", envelope.payload.len(), MAX_PAYLOAD_BYTES)?;
                }
            }
            Self::GroupSend(send) => {
                check_recipients(&send.recipients)?;
                check_len("payload", send.payload.len(), MAX_PAYLOAD_BYTES)?;
            }
        }
        Ok(frame)
    }

    /// Short name of the frame type, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Hello(_) => "hello",
            Self::Ping(_) => "ping",
            Self::Register(_) => "register",
            Self::Authenticate(_) => "authenticate",
            Self::UploadPreKeys { .. } => "upload_prekeys",
            Self::Lookup { .. } => "lookup",
            Self::Search { .. } => "search",
            Self::FetchBundles { .. } => "fetch_bundles",
            Self::Send(_) => "send",
            Self::Ack(_) => "ack",
            Self::GroupSend(_) => "group_send",
        }
    }
}

impl ServerFrame {
    /// Encodes the frame as CBOR.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes one frame, enforcing every limit.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let frame: Self = decode(bytes)?;
        match &frame {
            Self::Welcome(welcome) => {
                check_len("software", welcome.software.len(), MAX_TEXT_BYTES)?;
                check_len("origin", welcome.origin.len(), MAX_TEXT_BYTES)?;
            }
            Self::Error { detail, .. } => check_len("detail", detail.len(), MAX_TEXT_BYTES)?,
            Self::Authenticated { account, .. } | Self::Account { account, .. } => {
                check_account(account)?
            }
            Self::SearchResults { accounts, .. } => {
                check_len("results", accounts.len(), MAX_SEARCH_RESULTS)?;
                accounts.iter().try_for_each(check_account)?;
            }
            Self::Bundles {
                account, bundles, ..
            } => {
                check_account(account)?;
                check_len("bundles", bundles.len(), MAX_DEVICES_PER_ACCOUNT)?;
                for bundle in bundles {
                    check_exact(
                        "device certificate",
                        bundle.certificate.len(),
                        DEVICE_CERTIFICATE_BYTES,
                    )?;
                    check_kem(&bundle.kem_prekey)?;
                }
            }
            Self::StaleDevices { accounts, .. } => {
                // A group send names up to MAX_GROUP_ACCOUNTS accounts, and the
                // sender's own account is checked even when not named.
                check_len("accounts", accounts.len(), MAX_GROUP_ACCOUNTS + 1)?;
                for account in accounts {
                    check_len("handle", account.handle.len(), MAX_HANDLE_BYTES)?;
                    check_len("missing", account.missing.len(), MAX_DEVICES_PER_ACCOUNT)?;
                    // A `Send` may name up to MAX_ENVELOPES_PER_SEND devices of one account.
                    check_len("extra", account.extra.len(), MAX_ENVELOPES_PER_SEND)?;
                }
            }
            Self::GroupAccepted { queue_full, .. } => check_recipients(queue_full)?,
            Self::QueueFull { handle, .. } => check_len("handle", handle.len(), MAX_HANDLE_BYTES)?,
            Self::Deliver(delivery) => {
                check_len("sender", delivery.sender.len(), MAX_HANDLE_BYTES)?;
                check_len("payload", delivery.payload.len(), MAX_PAYLOAD_BYTES)?;
            }
            Self::Pong(_)
            | Self::PreKeysStored { .. }
            | Self::PreKeysLow { .. }
            | Self::Accepted(_) => {}
        }
        Ok(frame)
    }

    /// Short name of the frame type, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Welcome(_) => "welcome",
            Self::Pong(_) => "pong",
            Self::Error { .. } => "error",
            Self::Authenticated { .. } => "authenticated",
            Self::PreKeysStored { .. } => "prekeys_stored",
            Self::PreKeysLow { .. } => "prekeys_low",
            Self::Account { .. } => "account",
            Self::SearchResults { .. } => "search_results",
            Self::Bundles { .. } => "bundles",
            Self::Accepted(_) => "accepted",
            Self::StaleDevices { .. } => "stale_devices",
            Self::QueueFull { .. } => "queue_full",
            Self::Deliver(_) => "deliver",
            Self::GroupAccepted { .. } => "group_accepted",
        }
    }
}
