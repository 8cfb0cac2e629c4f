//! 1:1 messaging over an authenticated link: contacts trusted on first use,
//! sessions per device, an outbox written before sending, decryption,
//! exactly-once storage, and acknowledgement only after storing.

mod directory;
mod group_inbound;
mod group_store;
mod groups;
mod inbound;
mod receipts;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use estafette_crypto::{
    AccountPublicKey, DeviceCertificate, KemPreKeyPublic, KemPublicKey, OneTimePreKeyPublic,
    PreKeyBundle, Session, SignedPreKeyPublic, X25519PublicKey,
};
use estafette_wire::{
    AccountInfo, Bundle, ChallengeAnswer, ClientFrame, DeviceId, Envelope, ErrorCode, Hello, Send,
    ServerFrame, StaleAccount, WIRE_VERSION,
};
use futures::FutureExt;
use minicbor::{Decode, Encode};
use thiserror::Error;

use crate::account::{Identity, kem_wire, now_ms, one_time_wire};
use crate::content::{Body, Content, MAX_TEXT_BYTES, MessageId};
use crate::conversation::Conversation;
use crate::session_record::SessionRecord;
use crate::store::{RecordStore, Scan, StoreError, Table, Vault, Write};
use crate::transport::{Link, LinkError, Transport, origin_of};
pub use directory::{DeviceSummary, DirectoryEntry};
pub use groups::{GroupCommand, GroupView, MemberTrust, MemberView};
use receipts::MAX_RECEIPT_IDS;

/// Deliveries stored in one write at most (the relay keeps 64 in flight).
const MAX_DELIVERY_BATCH: usize = 64;

/// Sends retried after `StaleDevices` before giving up.
const MAX_STALE_RETRIES: usize = 3;

/// Why a messenger operation failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MessengerError {
    /// The link failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Local storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The relay refused.
    #[error("The relay refused: {0:?}.")]
    Refused(ErrorCode),
    /// No such account in the directory.
    #[error("No account has the handle {0}.")]
    NotFound(String),
    /// The contact's identity key changed; sending is blocked until accepted.
    #[error("The identity key of {0} changed; accept it before sending.")]
    IdentityChanged(String),
    /// The relay broke the protocol.
    #[error("The relay answered out of protocol.")]
    Protocol,
    /// No link to the relay right now; stored work leaves on reconnection.
    #[error("Not connected to the relay.")]
    Offline,
    /// The text exceeds [`MAX_TEXT_BYTES`].
    #[error("The message is too long.")]
    TooLong,
    /// A cryptographic operation failed.
    #[error("Encryption failed: {0}")]
    Crypto(String),
    /// A group operation was refused.
    #[error(transparent)]
    Group(#[from] crate::group::GroupError),
}

/// Why a delivery was not stored.
enum Refusal {
    /// It does not decrypt or authenticate: reported, acknowledged, never shown.
    Reject(String),
    /// We failed (storage, link): not acknowledged, so it comes again.
    Fail(MessengerError),
}

impl From<MessengerError> for Refusal {
    fn from(error: MessengerError) -> Self {
        Self::Fail(error)
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        Self::Fail(error.into())
    }
}

/// A contact as stored.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Contact {
    /// Handle.
    #[n(0)]
    pub handle: String,
    /// Display name.
    #[n(1)]
    pub name: String,
    /// The account identity key trusted for this handle.
    #[cbor(n(2), with = "minicbor::bytes")]
    pub account_key: [u8; 32],
    /// Its devices as last seen.
    #[n(3)]
    pub devices: Vec<DeviceId>,
    /// A different key the directory now shows, awaiting the user's decision.
    #[n(4)]
    pub changed_key: Option<minicbor::bytes::ByteArray<32>>,
}

/// Where a message stands, as the sender sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(index_only)]
pub enum DeliveryState {
    /// Stored locally, not yet accepted by the relay.
    #[n(0)]
    Sending,
    /// Accepted by the relay.
    #[n(1)]
    Sent,
    /// A message received.
    #[n(2)]
    Received,
    /// Our message reached a device of the recipient.
    #[n(3)]
    Delivered,
    /// The recipient displayed our message.
    #[n(4)]
    Read,
    /// Our message can never leave: we are no longer in the group.
    #[n(5)]
    Failed,
}

impl DeliveryState {
    /// Progress of our own messages; a state only ever moves forward.
    fn rank(self) -> u8 {
        match self {
            Self::Sending => 0,
            Self::Sent => 1,
            Self::Delivered => 2,
            Self::Read => 3,
            Self::Received | Self::Failed => 0,
        }
    }

    /// Stable machine name, used in the DOM (`data-state`) and by tests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Received => "received",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }
}

/// A message as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredMessage {
    /// Id.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub id: MessageId,
    /// The other party's handle.
    #[n(1)]
    pub conversation: String,
    /// Who wrote it.
    #[n(2)]
    pub sender: String,
    /// Sent time (sender's clock).
    #[n(3)]
    pub sent_at_ms: u64,
    /// Text.
    #[n(4)]
    pub text: String,
    /// State.
    #[n(5)]
    pub state: DeliveryState,
    /// For a line about the group (no text, no sender's message): what happened.
    #[n(6)]
    pub event: Option<crate::group::GroupEvent>,
}

/// What happened, for the UI. The messenger reports the message and
/// conversation events; the engine adds those about the link and answers to
/// commands.
#[derive(Debug, Clone, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub enum Event {
    /// The link to the relay changed.
    #[n(0)]
    Connection(#[n(0)] crate::ConnectionState),
    /// Directory search results.
    #[n(1)]
    SearchResults {
        /// The query answered.
        #[n(0)]
        query: String,
        /// At most 20 accounts.
        #[n(1)]
        accounts: Vec<DirectoryEntry>,
    },
    /// This account's devices.
    #[n(2)]
    OwnDevices(#[n(0)] Vec<DeviceSummary>),
    /// Something the user asked failed; tell them.
    #[n(3)]
    Failed(#[n(0)] crate::UserMessage),
    /// The engine stopped for good (account revoked, device unknown, opened
    /// in another tab): the user must be told and the page reloaded.
    #[n(4)]
    Stopped(#[n(0)] crate::UserMessage),
    /// A message was stored (received, sent from another of our devices, or
    /// written here and waiting to leave).
    #[n(5)]
    MessageAdded(#[n(0)] StoredMessage),
    /// A message's delivery state moved forward.
    #[n(6)]
    MessageUpdated(#[n(0)] StoredMessage),
    /// A conversation's summary changed (last message, unread count).
    #[n(7)]
    ConversationUpdated(#[n(0)] Conversation),
    /// The contact started or stopped typing in this conversation (never stored).
    #[n(8)]
    Typing {
        /// The contact's handle.
        #[n(0)]
        conversation: String,
        /// Whether they are typing.
        #[n(1)]
        typing: bool,
    },
    /// A contact's identity key changed.
    #[n(9)]
    IdentityChanged(#[n(0)] String),
    /// A delivery could not be decrypted or authenticated; it is not displayed.
    #[n(10)]
    Rejected {
        /// Claimed sender.
        #[n(0)]
        sender: String,
        /// Why, for the log.
        #[n(1)]
        reason: String,
    },
    /// A group's state changed (or was asked for): its members and rights.
    #[n(11)]
    GroupUpdated(#[n(0)] GroupView),
    /// One-time prekeys ran low and were refilled to this stock on the relay.
    #[n(12)]
    PreKeysRefilled {
        /// One-time X25519 prekeys now held by the relay.
        #[n(0)]
        one_time: u32,
        /// One-time ML-KEM prekeys now held by the relay.
        #[n(1)]
        kem_one_time: u32,
    },
}

pub(crate) use keys::message_prefix;

/// Record keys.
mod keys {
    pub fn contact(handle: &str) -> Vec<u8> {
        handle.as_bytes().to_vec()
    }
    pub fn session(handle: &str, device: &[u8; 16]) -> Vec<u8> {
        let mut key = handle.as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(device);
        key
    }
    pub(crate) fn message_prefix(conversation: &str) -> Vec<u8> {
        let mut key = b"m".to_vec();
        key.extend_from_slice(conversation.as_bytes());
        key.push(0);
        key
    }
    pub fn message(conversation: &str, sent_at_ms: u64, id: &[u8; 16]) -> Vec<u8> {
        let mut key = message_prefix(conversation);
        key.extend_from_slice(&sent_at_ms.to_be_bytes());
        key.extend_from_slice(id);
        key
    }
    pub fn seen(id: &[u8; 16]) -> Vec<u8> {
        let mut key = b"i".to_vec();
        key.extend_from_slice(id);
        key
    }
    /// Outbox: messages (`m`, in send order) and receipts owed (`d`
    /// delivered, `r` read, per contact).
    pub const OUTBOX_MESSAGES: &[u8] = b"m";
    pub fn outbox(sent_at_ms: u64, id: &[u8; 16]) -> Vec<u8> {
        let mut key = OUTBOX_MESSAGES.to_vec();
        key.extend_from_slice(&sent_at_ms.to_be_bytes());
        key.extend_from_slice(id);
        key
    }
    pub fn receipt(kind: u8, handle: &str, id: &[u8; 16]) -> Vec<u8> {
        let mut key = vec![kind];
        key.extend_from_slice(handle.as_bytes());
        key.push(0);
        key.extend_from_slice(id);
        key
    }
    pub fn delivery(id: u64) -> Vec<u8> {
        let mut key = b"d".to_vec();
        key.extend_from_slice(&id.to_be_bytes());
        key
    }
}

fn cbor<T: Encode<()>>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    match minicbor::encode(value, &mut out) {
        Ok(()) | Err(_) => out,
    }
}

fn crypto(error: estafette_crypto::Error) -> MessengerError {
    MessengerError::Crypto(error.to_string())
}

fn random_id() -> Result<[u8; 16], MessengerError> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| MessengerError::Crypto(e.to_string()))?;
    Ok(id)
}

fn prekeys_kem_last_resort(
    prekeys: &estafette_crypto::PreKeyStore,
) -> Option<estafette_wire::KemPreKey> {
    prekeys.kem_last_resort_prekey().as_ref().map(kem_wire)
}

/// The crypto bundle for a wire bundle (no check yet: `verify` does it).
fn crypto_bundle(bundle: &Bundle) -> Result<PreKeyBundle, MessengerError> {
    let bad = || MessengerError::Protocol;
    let kem_key: &[u8; estafette_crypto::KEM_PUBLIC_KEY_LEN] = bundle
        .kem_prekey
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| bad())?;
    Ok(PreKeyBundle {
        certificate: DeviceCertificate::decode(&bundle.certificate).map_err(|_| bad())?,
        signed_prekey: SignedPreKeyPublic {
            id: bundle.signed_prekey.id,
            public_key: X25519PublicKey::from_bytes(bundle.signed_prekey.public_key),
            signature: bundle.signed_prekey.signature,
        },
        kem_prekey: KemPreKeyPublic {
            id: bundle.kem_prekey.id,
            public_key: KemPublicKey::from_bytes(kem_key).map_err(|_| bad())?,
            signature: bundle.kem_prekey.signature,
            one_time: bundle.kem_one_time,
        },
        one_time_prekey: bundle.one_time.as_ref().map(|k| OneTimePreKeyPublic {
            id: k.id,
            public_key: X25519PublicKey::from_bytes(k.public_key),
        }),
    })
}

/// The messenger of one identity: works on stored state at any time, and on
/// the relay while a link is up.
pub struct Messenger<'v, S: RecordStore, L: Link> {
    vault: &'v Vault<S>,
    identity: Identity,
    link: Option<L>,
    next_request: u32,
    inbox: VecDeque<ServerFrame>,
    /// Send times strictly increase, so the outbox resends in send order.
    last_sent_at_ms: u64,
    /// Events from commands, for [`Self::take_events`].
    pending_events: Vec<Event>,
    /// Groups used since unlock (state, roster, our chain), write-through.
    groups: BTreeMap<crate::group::GroupId, group_store::GroupCache>,
    /// Contacts whose identity key changed, read once (a group send must
    /// skip them without reading 1,000 contacts).
    changed: Option<BTreeSet<String>>,
}

impl<'v, S: RecordStore, L: Link> Messenger<'v, S, L> {
    /// A messenger without a link yet: stored state only until [`Self::reconnect`].
    pub fn offline(vault: &'v Vault<S>, identity: Identity) -> Self {
        Self {
            vault,
            identity,
            link: None,
            next_request: 1,
            inbox: VecDeque::new(),
            last_sent_at_ms: 0,
            pending_events: Vec::new(),
            groups: BTreeMap::new(),
            changed: None,
        }
    }

    /// Events caused by commands since the last call (conversation summaries
    /// changed by sending or reading), in order.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.pending_events)
    }

    /// A messenger over a link that is already authenticated (a relay
    /// stand-in in tests and benchmarks).
    pub fn with_link(vault: &'v Vault<S>, identity: Identity, link: L) -> Self {
        let mut messenger = Self::offline(vault, identity);
        messenger.link = Some(link);
        messenger
    }

    /// Connects and authenticates this device.
    pub async fn connect<T: Transport<Link = L>>(
        vault: &'v Vault<S>,
        identity: Identity,
        transport: &T,
    ) -> Result<Self, MessengerError> {
        let mut messenger = Self::offline(vault, identity);
        messenger.reconnect(transport).await?;
        Ok(messenger)
    }

    /// Opens a new link and authenticates this device on it; any previous
    /// link is dropped first.
    pub async fn reconnect<T: Transport<Link = L>>(
        &mut self,
        transport: &T,
    ) -> Result<(), MessengerError> {
        self.disconnect();
        let url = self.identity.profile.relay_url.clone();
        self.link = Some(transport.connect(&url).await?);
        let result = self.authenticate(&url).await;
        if result.is_err() {
            self.disconnect();
        }
        result
    }

    async fn authenticate(&mut self, url: &str) -> Result<(), MessengerError> {
        let hello = ClientFrame::Hello(Hello {
            wire_version: WIRE_VERSION,
            software: crate::SOFTWARE.into(),
        });
        self.link()?.send(hello.encode()).await?;
        let ServerFrame::Welcome(welcome) = self
            .await_frame(|f| matches!(f, ServerFrame::Welcome(_)))
            .await?
        else {
            return Err(MessengerError::Protocol);
        };
        let origin = origin_of(url);
        let device = &self.identity.device;
        let answer = ChallengeAnswer {
            challenge: welcome.challenge,
            certificate: device.certificate().encode().to_vec(),
            signature: self.identity.account.sign_relay_challenge(
                &welcome.challenge,
                device.device_id(),
                &origin,
            ),
        };
        self.link()?
            .send(ClientFrame::Authenticate(answer).encode())
            .await?;
        self.await_frame(|f| matches!(f, ServerFrame::Authenticated { .. }))
            .await?;
        Ok(())
    }

    /// Drops the link (the relay redelivers whatever was not acknowledged).
    pub fn disconnect(&mut self) {
        self.link = None;
        self.inbox.clear();
    }

    /// Whether a link is up.
    pub fn is_connected(&self) -> bool {
        self.link.is_some()
    }

    fn link(&mut self) -> Result<&mut L, MessengerError> {
        self.link.as_mut().ok_or(MessengerError::Offline)
    }

    /// The identity, when the messenger is done (lock, shutdown).
    pub fn into_identity(self) -> Identity {
        self.identity
    }

    /// This account's handle.
    pub fn handle(&self) -> &str {
        &self.identity.profile.handle
    }

    fn my_device(&self) -> DeviceId {
        DeviceId(self.identity.device.device_id().0)
    }

    /// Reads frames until `pick` matches; others wait in the inbox. A fatal
    /// error, or an error answering the awaited request, ends the wait.
    async fn await_frame(
        &mut self,
        pick: impl Fn(&ServerFrame) -> bool,
    ) -> Result<ServerFrame, MessengerError> {
        loop {
            let bytes = self.link()?.recv().await?;
            let frame = ServerFrame::decode(&bytes).map_err(|_| MessengerError::Protocol)?;
            if pick(&frame) {
                return Ok(frame);
            }
            if let ServerFrame::Error { code, .. } = &frame
                && code.is_fatal()
            {
                return Err(MessengerError::Refused(*code));
            }
            self.inbox.push_back(frame);
        }
    }

    async fn request(
        &mut self,
        make: impl FnOnce(u32) -> ClientFrame,
    ) -> Result<ServerFrame, MessengerError> {
        let request = self.next_request;
        self.next_request = self.next_request.wrapping_add(1);
        self.link()?.send(make(request).encode()).await?;
        let answers = |f: &ServerFrame| match f {
            ServerFrame::Account { request: r, .. }
            | ServerFrame::Bundles { request: r, .. }
            | ServerFrame::SearchResults { request: r, .. }
            | ServerFrame::PreKeysStored { request: r, .. } => *r == request,
            ServerFrame::Error {
                request: Some(r), ..
            } => *r == request,
            _ => false,
        };
        match self.await_frame(answers).await? {
            ServerFrame::Error { code, .. } => Err(MessengerError::Refused(code)),
            frame => Ok(frame),
        }
    }

    async fn lookup(&mut self, handle: &str) -> Result<AccountInfo, MessengerError> {
        let handle_owned = handle.to_owned();
        match self
            .request(|request| ClientFrame::Lookup {
                request,
                handle: handle_owned,
            })
            .await
        {
            Ok(ServerFrame::Account { account, .. }) => Ok(account),
            Err(MessengerError::Refused(ErrorCode::NotFound)) => {
                Err(MessengerError::NotFound(handle.to_owned()))
            }
            Err(e) => Err(e),
            Ok(_) => Err(MessengerError::Protocol),
        }
    }

    /// The stored contact.
    pub async fn contact(&self, handle: &str) -> Result<Option<Contact>, MessengerError> {
        let Some(bytes) = self
            .vault
            .get(Table::Contacts, &keys::contact(handle))
            .await?
        else {
            return Ok(None);
        };
        Ok(minicbor::decode(&bytes).ok())
    }

    /// Checks `info` against the trusted key (trusting it if new); stores the contact.
    async fn trust(&mut self, info: &AccountInfo) -> Result<Contact, MessengerError> {
        let key: [u8; 32] = info
            .account_key
            .as_slice()
            .try_into()
            .map_err(|_| MessengerError::Protocol)?;
        let mut contact = match self.contact(&info.handle).await? {
            None => Contact {
                handle: info.handle.clone(),
                name: info.name.clone(),
                account_key: key,
                devices: Vec::new(),
                changed_key: None,
            },
            Some(contact) => contact,
        };
        if contact.account_key != key {
            let first_warning = contact.changed_key.is_none();
            if let Some(changed) = &mut self.changed {
                changed.insert(info.handle.clone());
            }
            contact.changed_key = Some(key.into());
            let mut writes = vec![self.vault.seal(
                Table::Contacts,
                &keys::contact(&info.handle),
                &cbor(&contact),
            )?];
            if let Some(mut summary) =
                crate::conversation::conversation(self.vault, &info.handle).await?
            {
                summary.identity_changed = true;
                writes.push(self.vault.seal(
                    Table::Conversations,
                    info.handle.as_bytes(),
                    &summary.encode(),
                )?);
                self.pending_events
                    .push(Event::ConversationUpdated(summary));
            }
            self.vault.write(writes).await?;
            if first_warning {
                self.pending_events
                    .push(Event::IdentityChanged(info.handle.clone()));
            }
            return Err(MessengerError::IdentityChanged(info.handle.clone()));
        }
        contact.devices = info.devices.clone();
        contact.name = info.name.clone();
        self.vault
            .put(
                Table::Contacts,
                &keys::contact(&info.handle),
                &cbor(&contact),
            )
            .await?;
        Ok(contact)
    }

    /// Accepts a contact's new identity key (after the user compared safety numbers);
    /// its old sessions are dropped.
    pub async fn accept_identity(&mut self, handle: &str) -> Result<(), MessengerError> {
        let Some(mut contact) = self.contact(handle).await? else {
            return Ok(());
        };
        if let Some(key) = contact.changed_key.take() {
            contact.account_key = *key;
            if let Some(changed) = &mut self.changed {
                changed.remove(handle);
            }
            let mut writes =
                vec![
                    self.vault
                        .seal(Table::Contacts, &keys::contact(handle), &cbor(&contact))?,
                ];
            for device in &contact.devices {
                writes.push(Write::Delete {
                    table: Table::Sessions,
                    key: keys::session(handle, &device.0),
                });
            }
            if let Some(mut summary) = crate::conversation::conversation(self.vault, handle).await?
            {
                summary.identity_changed = false;
                writes.push(self.vault.seal(
                    Table::Conversations,
                    handle.as_bytes(),
                    &summary.encode(),
                )?);
                self.pending_events
                    .push(Event::ConversationUpdated(summary));
            }
            self.vault.write(writes).await?;
        }
        Ok(())
    }

    /// The devices of `handle` a message must reach, looked up when unknown.
    async fn account_devices(&mut self, handle: &str) -> Result<Vec<DeviceId>, MessengerError> {
        match self.contact(handle).await? {
            Some(c) if c.changed_key.is_some() => {
                Err(MessengerError::IdentityChanged(handle.to_owned()))
            }
            Some(c) if !c.devices.is_empty() => Ok(c.devices),
            _ => {
                let info = self.lookup(handle).await?;
                Ok(self.trust(&info).await?.devices)
            }
        }
    }

    /// Our devices other than this one, as last seen.
    async fn own_other_devices(&self) -> Result<Vec<DeviceId>, MessengerError> {
        let me = self.handle().to_owned();
        let mine = self.my_device();
        Ok(self
            .contact(&me)
            .await?
            .map(|c| c.devices.into_iter().filter(|d| *d != mine).collect())
            .unwrap_or_default())
    }

    /// The devices a message to `handles` must reach: theirs and our other ones.
    async fn recipients(
        &mut self,
        handles: &[String],
    ) -> Result<Vec<(String, DeviceId)>, MessengerError> {
        let me = self.handle().to_owned();
        let others: Vec<&String> = handles.iter().filter(|h| **h != me).collect();
        // Read together: a distribution reaches five accounts at once.
        let known = self.contacts_of(others.iter().map(|h| h.as_str())).await?;
        let mut out = Vec::new();
        for (handle, contact) in others.into_iter().zip(known) {
            let devices = match contact {
                Some(c) if c.changed_key.is_none() && !c.devices.is_empty() => c.devices,
                _ => self.account_devices(handle).await?,
            };
            out.extend(devices.into_iter().map(|d| (handle.clone(), d)));
        }
        let mine = self.own_other_devices().await?;
        out.extend(mine.into_iter().map(|d| (me.clone(), d)));
        Ok(out)
    }

    /// Encrypts `content` for every recipient device, fetching bundles for
    /// devices without a session. Returns the envelopes and the session writes.
    async fn encrypt_for(
        &mut self,
        recipients: &[(String, DeviceId)],
        content: &[u8],
    ) -> Result<(Vec<Envelope>, Vec<Write>), MessengerError> {
        let mut envelopes = Vec::new();
        let mut writes = Vec::new();
        let mut bundles: BTreeMap<String, Vec<Bundle>> = BTreeMap::new();
        let keys: Vec<Vec<u8>> = recipients
            .iter()
            .map(|(handle, device)| keys::session(handle, &device.0))
            .collect();
        let stored = self.vault.get_many(Table::Sessions, &keys).await?;
        for ((handle, device), stored) in recipients.iter().zip(stored) {
            let current = match stored {
                None => None,
                Some(bytes) => Some(SessionRecord::decode(&bytes).ok_or_else(|| {
                    MessengerError::Crypto("a stored session does not decode".into())
                })?),
            }
            .filter(|r| !r.is_empty());
            let (record, payload) = match current {
                Some(mut record) => {
                    let session = record.current_mut().ok_or(MessengerError::Protocol)?;
                    let payload = session.encrypt(content).map_err(crypto)?;
                    (record, payload)
                }
                None => {
                    if !bundles.contains_key(handle) {
                        let h = handle.clone();
                        let ServerFrame::Bundles {
                            bundles: fetched,
                            account,
                            ..
                        } = self
                            .request(|request| ClientFrame::FetchBundles { request, handle: h })
                            .await?
                        else {
                            return Err(MessengerError::Protocol);
                        };
                        self.trust(&account).await?;
                        bundles.insert(handle.clone(), fetched);
                    }
                    let contact = self
                        .contact(handle)
                        .await?
                        .ok_or(MessengerError::Protocol)?;
                    let expected =
                        AccountPublicKey::from_bytes(contact.account_key).map_err(crypto)?;
                    let bundle = bundles
                        .get(handle)
                        .and_then(|list| {
                            list.iter()
                                .find(|b| b.certificate.get(32..48) == Some(&device.0[..]))
                        })
                        .ok_or(MessengerError::Protocol)?;
                    let (session, payload) = Session::initiate(
                        &self.identity.device,
                        &crypto_bundle(bundle)?,
                        &expected,
                        content,
                    )
                    .map_err(crypto)?;
                    (SessionRecord::new(session), payload)
                }
            };
            writes.push(self.vault.seal(
                Table::Sessions,
                &keys::session(handle, &device.0),
                &record.encode(),
            )?);
            envelopes.push(Envelope {
                handle: handle.clone(),
                device: *device,
                payload,
            });
        }
        Ok((envelopes, writes))
    }

    /// Sends a text to `handle`: stored first, then encrypted and sent;
    /// returns the stored message (state `Sent` once the relay accepted it).
    pub async fn send_text(
        &mut self,
        handle: &str,
        text: &str,
    ) -> Result<StoredMessage, MessengerError> {
        let (message, content) = self.store_text(handle, text).await?;
        let outbox_key = match crate::group::group_of(handle) {
            Some(group) => {
                self.deliver_to_group(group, &content, None).await?;
                groups::outbox_key(&content)
            }
            None => {
                self.deliver(handle, &content).await?;
                keys::outbox(content.sent_at_ms, &content.id)
            }
        };
        Ok(self
            .mark_accepted(&content, outbox_key)
            .await?
            .unwrap_or(message))
    }

    /// Stores a text to `handle` in the conversation and the outbox, without
    /// sending it: [`Self::flush_outbox`] does, now or after reconnection.
    /// Works offline.
    pub async fn queue_text(
        &mut self,
        handle: &str,
        text: &str,
    ) -> Result<StoredMessage, MessengerError> {
        Ok(self.store_text(handle, text).await?.0)
    }

    async fn store_text(
        &mut self,
        handle: &str,
        text: &str,
    ) -> Result<(StoredMessage, Content), MessengerError> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(MessengerError::TooLong);
        }
        let group = crate::group::group_of(handle);
        if let Some(group) = group {
            self.check_can_send(group).await?;
        } else if let Some(contact) = self.contact(handle).await?
            && contact.changed_key.is_some()
        {
            return Err(MessengerError::IdentityChanged(handle.to_owned()));
        }
        self.last_sent_at_ms = now_ms().max(self.last_sent_at_ms + 1);
        let content = Content {
            id: random_id()?,
            sent_at_ms: self.last_sent_at_ms,
            sender: self.handle().to_owned(),
            sender_device: self.my_device().0,
            conversation: handle.to_owned(),
            body: Body::Text(text.to_owned()),
        };
        let message = StoredMessage {
            id: content.id,
            conversation: handle.to_owned(),
            sender: content.sender.clone(),
            sent_at_ms: content.sent_at_ms,
            text: text.to_owned(),
            state: DeliveryState::Sending,
            event: None,
        };
        let mut writes = self.message_writes(&message)?;
        writes.push(match group {
            Some(_) => self.group_outbox_write(&content, None)?,
            None => self.vault.seal(
                Table::Outbox,
                &keys::outbox(message.sent_at_ms, &message.id),
                &content.encode(),
            )?,
        });
        let (conversation, write) = self.touch_conversation(&message, false).await?;
        writes.push(write);
        self.vault.write(writes).await?;
        self.pending_events
            .push(Event::ConversationUpdated(conversation));
        Ok((message, content))
    }

    /// The writes that store `message` and its id index.
    fn message_writes(&self, message: &StoredMessage) -> Result<Vec<Write>, MessengerError> {
        let key = keys::message(&message.conversation, message.sent_at_ms, &message.id);
        Ok(vec![
            self.vault.seal(Table::Messages, &key, &cbor(message))?,
            self.vault
                .seal(Table::Messages, &keys::seen(&message.id), &key)?,
        ])
    }

    /// After `Accepted`: the message turns `Sent` and leaves the outbox, in
    /// one write. Returns it if its state changed.
    async fn mark_accepted(
        &mut self,
        content: &Content,
        outbox_key: Vec<u8>,
    ) -> Result<Option<StoredMessage>, MessengerError> {
        let (mut updated, mut writes) = self
            .advanced(&[content.id], DeliveryState::Sent, None)
            .await?;
        writes.push(Write::Delete {
            table: Table::Outbox,
            key: outbox_key,
        });
        self.vault.write(writes).await?;
        Ok(updated.pop())
    }

    /// Our messages among `ids` moved forward to `state` (never backward;
    /// only in the conversation `only_in` if given), and the writes that
    /// store them.
    async fn advanced(
        &self,
        ids: &[MessageId],
        state: DeliveryState,
        only_in: Option<&str>,
    ) -> Result<(Vec<StoredMessage>, Vec<Write>), MessengerError> {
        let seen_keys: Vec<Vec<u8>> = ids.iter().map(keys::seen).collect();
        let message_keys: Vec<Vec<u8>> = self
            .vault
            .get_many(Table::Messages, &seen_keys)
            .await?
            .into_iter()
            .flatten()
            .map(|key| key.to_vec())
            .collect();
        let messages = self.vault.get_many(Table::Messages, &message_keys).await?;
        let mut updated = Vec::new();
        let mut writes = Vec::new();
        for (key, bytes) in message_keys.iter().zip(messages) {
            let Some(mut message) = bytes.and_then(|b| minicbor::decode::<StoredMessage>(&b).ok())
            else {
                continue;
            };
            if message.sender != self.handle()
                || state.rank() <= message.state.rank()
                || only_in.is_some_and(|c| c != message.conversation)
            {
                continue;
            }
            message.state = state;
            writes.push(self.vault.seal(Table::Messages, key, &cbor(&message))?);
            updated.push(message);
        }
        Ok((updated, writes))
    }

    /// Sends again, in order and with their original ids, the messages stored
    /// but never accepted (link lost, crash, reload). The relay stores a repeated
    /// id only once. Messages to a contact whose identity changed wait for the
    /// user's decision; the others leave. Returns the messages now sent.
    pub async fn flush_outbox(&mut self) -> Result<Vec<StoredMessage>, MessengerError> {
        let scan = Scan {
            prefix: keys::OUTBOX_MESSAGES.to_vec(),
            ..Scan::default()
        };
        let (pending, unreadable) = self.vault.scan(Table::Outbox, scan).await?;
        let mut sent = Vec::new();
        let mut blocked = BTreeSet::new();
        for (key, bytes) in pending {
            let Some(content) = Content::decode(&bytes) else {
                continue;
            };
            let conversation = content.conversation.clone();
            if blocked.contains(&conversation) {
                continue;
            }
            match self.deliver(&conversation, &content).await {
                Ok(()) => {}
                Err(MessengerError::IdentityChanged(_) | MessengerError::NotFound(_)) => {
                    blocked.insert(conversation);
                    continue;
                }
                Err(e) => return Err(e),
            }
            sent.extend(self.mark_accepted(&content, key).await?);
        }
        sent.extend(self.flush_group_outbox().await?);
        if let Some(first) = unreadable.first() {
            return Err(MessengerError::Store(StoreError::Unreadable {
                table: Table::Outbox.name(),
                key: crate::store::hex(&first.key),
            }));
        }
        Ok(sent)
    }

    /// Messages waiting in the outbox.
    pub async fn outbox_len(&self) -> Result<usize, MessengerError> {
        let mut len = 0;
        for prefix in [keys::OUTBOX_MESSAGES, groups::OUTBOX_GROUP] {
            let scan = Scan {
                prefix: prefix.to_vec(),
                ..Scan::default()
            };
            len += self.vault.scan(Table::Outbox, scan).await?.0.len();
        }
        Ok(len)
    }

    async fn deliver(&mut self, handle: &str, content: &Content) -> Result<(), MessengerError> {
        self.deliver_accounts(&[handle.to_owned()], content)
            .await
            .map(|_| ())
    }

    /// Sends `content` over the pairwise sessions to every device of
    /// `handles` and our other devices, in one `Send`; returns the devices
    /// it reached.
    async fn deliver_accounts(
        &mut self,
        handles: &[String],
        content: &Content,
    ) -> Result<Vec<(String, DeviceId)>, MessengerError> {
        let bytes = content.encode();
        for _ in 0..MAX_STALE_RETRIES {
            let recipients = self.recipients(handles).await?;
            let (envelopes, writes) = self.encrypt_for(&recipients, &bytes).await?;
            // Session state is saved before any ciphertext leaves.
            self.vault.write(writes).await?;
            let send = ClientFrame::Send(Send {
                idempotency_id: content.id,
                envelopes,
            });
            let answer = self.submit(send, content.id).await?;
            match answer {
                ServerFrame::Accepted(_) => return Ok(recipients),
                ServerFrame::StaleDevices { accounts, .. } => self.fix_devices(accounts).await?,
                ServerFrame::QueueFull { .. } => {
                    return Err(MessengerError::Refused(ErrorCode::RateLimited));
                }
                _ => return Err(MessengerError::Protocol),
            }
        }
        Err(MessengerError::Protocol)
    }

    /// Handles of the contacts whose identity key changed and waits for the user.
    async fn changed_contacts(&mut self) -> Result<&BTreeSet<String>, MessengerError> {
        if self.changed.is_none() {
            let (records, _) = self.vault.scan(Table::Contacts, Scan::default()).await?;
            let changed = records
                .iter()
                .filter_map(|(_, b)| minicbor::decode::<Contact>(b).ok())
                .filter(|c| c.changed_key.is_some())
                .map(|c| c.handle)
                .collect();
            self.changed = Some(changed);
        }
        self.changed.as_ref().ok_or(MessengerError::Protocol)
    }

    /// Sends a `Send` or `GroupSend` and waits for the relay's answer to its
    /// idempotency id `id`.
    async fn submit(
        &mut self,
        frame: ClientFrame,
        id: [u8; 16],
    ) -> Result<ServerFrame, MessengerError> {
        self.link()?.send(frame.encode()).await?;
        self.await_frame(|f| match f {
            ServerFrame::Accepted(a) => *a == id,
            ServerFrame::GroupAccepted { idempotency_id, .. }
            | ServerFrame::StaleDevices { idempotency_id, .. }
            | ServerFrame::QueueFull { idempotency_id, .. } => *idempotency_id == id,
            _ => false,
        })
        .await
    }

    /// The stored contacts of `handles`, in order (`None` where there is none).
    async fn contacts_of(
        &self,
        handles: impl Iterator<Item = &str>,
    ) -> Result<Vec<Option<Contact>>, MessengerError> {
        let keys: Vec<Vec<u8>> = handles.map(keys::contact).collect();
        let stored = self.vault.get_many(Table::Contacts, &keys).await?;
        Ok(stored
            .into_iter()
            .map(|b| b.and_then(|b| minicbor::decode(&b).ok()))
            .collect())
    }

    /// Applies `StaleDevices`: forget removed devices' sessions, learn new devices.
    async fn fix_devices(&mut self, accounts: Vec<StaleAccount>) -> Result<(), MessengerError> {
        for stale in accounts {
            let mut writes: Vec<Write> = stale
                .extra
                .iter()
                .map(|d| Write::Delete {
                    table: Table::Sessions,
                    key: keys::session(&stale.handle, &d.0),
                })
                .collect();
            let info = self.lookup(&stale.handle).await?;
            let mut contact = self.trust(&info).await?;
            if stale.handle == self.handle() {
                contact.devices.retain(|d| *d != self.my_device());
            }
            writes.push(self.vault.seal(
                Table::Contacts,
                &keys::contact(&stale.handle),
                &cbor(&contact),
            )?);
            self.vault.write(writes).await?;
        }
        Ok(())
    }

    /// Handles the next frame from the relay; returns what happened.
    pub async fn next_events(&mut self) -> Result<Vec<Event>, MessengerError> {
        let frame = self.next_frame().await?;
        self.handle_frame(frame).await
    }

    /// The next frame from the relay. Cancel-safe: dropping the future loses
    /// no frame, so it can race with other work.
    pub async fn next_frame(&mut self) -> Result<ServerFrame, MessengerError> {
        if let Some(frame) = self.inbox.pop_front() {
            return Ok(frame);
        }
        let bytes = self.link()?.recv().await?;
        ServerFrame::decode(&bytes).map_err(|_| MessengerError::Protocol)
    }

    /// Sends an application-level keep-alive (answered by `Pong`).
    pub async fn ping(&mut self) -> Result<(), MessengerError> {
        let n = u64::from(self.next_request);
        self.link()?.send(ClientFrame::Ping(n).encode()).await?;
        Ok(())
    }

    /// Whether a frame is waiting to be handled without reading the link.
    pub fn has_queued_frame(&self) -> bool {
        !self.inbox.is_empty()
    }

    /// Handles one frame (to completion: do not cancel); returns what happened.
    pub async fn handle_frame(&mut self, frame: ServerFrame) -> Result<Vec<Event>, MessengerError> {
        match frame {
            ServerFrame::Deliver(delivery) => {
                // Deliveries already waiting are handled together: one read and
                // one write of the store for the lot.
                let mut batch = vec![delivery];
                while batch.len() < MAX_DELIVERY_BATCH
                    && matches!(self.inbox.front(), Some(ServerFrame::Deliver(_)))
                {
                    if let Some(ServerFrame::Deliver(next)) = self.inbox.pop_front() {
                        batch.push(next);
                    }
                }
                while batch.len() < MAX_DELIVERY_BATCH && self.inbox.is_empty() {
                    let Some(link) = self.link.as_mut() else {
                        break;
                    };
                    let Some(Ok(bytes)) = link.recv().now_or_never() else {
                        break;
                    };
                    match ServerFrame::decode(&bytes) {
                        Ok(ServerFrame::Deliver(next)) => batch.push(next),
                        Ok(other) => self.inbox.push_back(other),
                        Err(_) => return Err(MessengerError::Protocol),
                    }
                }
                self.receive(batch).await
            }
            ServerFrame::PreKeysLow {
                one_time_prekeys,
                kem_one_time_prekeys,
            } => self.refill(one_time_prekeys, kem_one_time_prekeys).await,
            ServerFrame::Error { code, .. } if code.is_fatal() => {
                Err(MessengerError::Refused(code))
            }
            _ => Ok(Vec::new()),
        }
    }

    /// Weekly signed-prekey rotation (PROTOCOL.md section 2): a new signed
    /// prekey is saved, then published; old ones are kept 14 days for
    /// sessions in flight. Returns whether it rotated.
    pub async fn rotate_signed_prekey_if_due(&mut self, now: u64) -> Result<bool, MessengerError> {
        if !self.identity.prekeys.needs_rotation(now) {
            return Ok(false);
        }
        let mut prekeys = self.identity.prekeys.clone();
        prekeys
            .rotate(&self.identity.account, now)
            .map_err(crypto)?;
        prekeys.prune(now);
        let spk = prekeys.signed_prekey().ok_or(MessengerError::Protocol)?;
        self.vault
            .put(Table::Account, b"prekeys", &prekeys.to_bytes())
            .await?;
        self.identity.prekeys = prekeys;
        let upload = estafette_wire::PreKeyUpload {
            signed_prekey: Some(estafette_wire::SignedPreKey {
                id: spk.id,
                public_key: spk.public_key.to_bytes(),
                signature: spk.signature,
            }),
            kem_last_resort: prekeys_kem_last_resort(&self.identity.prekeys),
            one_time: Vec::new(),
            kem_one_time: Vec::new(),
        };
        match self
            .request(|request| ClientFrame::UploadPreKeys {
                request,
                prekeys: Box::new(upload),
            })
            .await?
        {
            ServerFrame::PreKeysStored { .. } => Ok(true),
            _ => Err(MessengerError::Protocol),
        }
    }

    /// The current signed prekey's id (changes on rotation).
    pub fn signed_prekey_id(&self) -> Option<u32> {
        self.identity.prekeys.signed_prekey().map(|k| k.id)
    }

    /// Records `message` in its conversation's summary (created if new).
    async fn touch_conversation(
        &self,
        message: &StoredMessage,
        incoming: bool,
    ) -> Result<(Conversation, Write), MessengerError> {
        let handle = &message.conversation;
        let mut summary = match crate::conversation::conversation(self.vault, handle).await? {
            Some(summary) => summary,
            None => self.new_summary(handle).await?,
        };
        summary.note(message, incoming);
        let write = self
            .vault
            .seal(Table::Conversations, handle.as_bytes(), &summary.encode())?;
        Ok((summary, write))
    }

    /// A new conversation with `handle`, named as the contact is (or by its handle).
    async fn new_summary(&self, handle: &str) -> Result<Conversation, MessengerError> {
        if let Some(group) = crate::group::group_of(handle)
            && let Some(cache) = self.groups.get(&group)
        {
            return self.group_summary(cache, None).await;
        }
        let name = self
            .contact(handle)
            .await?
            .map(|c| c.name)
            .unwrap_or_else(|| handle.to_owned());
        Ok(Conversation::new(handle, &name))
    }

    /// Tops the relay's stock of one-time prekeys back up to
    /// [`crate::account::INITIAL_ONE_TIME_PREKEYS`] of each kind. The secret
    /// halves are saved before the public halves are published.
    async fn refill(
        &mut self,
        one_time: u32,
        kem_one_time: u32,
    ) -> Result<Vec<Event>, MessengerError> {
        let target = crate::account::INITIAL_ONE_TIME_PREKEYS;
        let x25519 = target.saturating_sub(one_time as usize);
        let kem = target.saturating_sub(kem_one_time as usize);
        if x25519 == 0 && kem == 0 {
            return Ok(Vec::new());
        }
        let mut prekeys = self.identity.prekeys.clone();
        let new_x25519 = prekeys.generate_one_time_prekeys(x25519).map_err(crypto)?;
        let new_kem = prekeys
            .generate_kem_one_time_prekeys(&self.identity.account, kem, now_ms())
            .map_err(crypto)?;
        self.vault
            .put(Table::Account, b"prekeys", &prekeys.to_bytes())
            .await?;
        self.identity.prekeys = prekeys;
        let upload = estafette_wire::PreKeyUpload {
            signed_prekey: None,
            kem_last_resort: None,
            one_time: new_x25519.iter().map(one_time_wire).collect(),
            kem_one_time: new_kem.iter().map(kem_wire).collect(),
        };
        let answer = self
            .request(|request| ClientFrame::UploadPreKeys {
                request,
                prekeys: Box::new(upload),
            })
            .await?;
        match answer {
            ServerFrame::PreKeysStored {
                one_time_prekeys,
                kem_one_time_prekeys,
                ..
            } => Ok(vec![Event::PreKeysRefilled {
                one_time: one_time_prekeys,
                kem_one_time: kem_one_time_prekeys,
            }]),
            _ => Err(MessengerError::Protocol),
        }
    }

    async fn ack(&mut self, delivery_id: u64) -> Result<(), MessengerError> {
        self.link()?
            .send(ClientFrame::Ack(delivery_id).encode())
            .await
            .map_err(Into::into)
    }

    /// The sender's certificate must carry the key trusted for its handle.
    async fn check_sender_key(
        &mut self,
        sender: &str,
        certificate: &DeviceCertificate,
    ) -> Result<(), Refusal> {
        let key = certificate.account_key().to_bytes();
        match self.contact(sender).await? {
            Some(contact) if contact.account_key == key => Ok(()),
            Some(_) => Err(Refusal::Reject(format!(
                "{sender} signed with a key that is not the one trusted"
            ))),
            None => {
                let info = match self.lookup(sender).await {
                    Err(MessengerError::NotFound(_)) => {
                        return Err(Refusal::Reject(format!("{sender} is not in the directory")));
                    }
                    other => other?,
                };
                if info.account_key != key {
                    return Err(Refusal::Reject(format!(
                        "{sender}'s certificate does not match the directory"
                    )));
                }
                self.trust(&info).await?;
                Ok(())
            }
        }
    }

    /// The last `limit` messages of a conversation, oldest first, and how many
    /// records could not be opened (reported, skipped).
    pub async fn messages(
        &self,
        conversation: &str,
        limit: u32,
    ) -> Result<(Vec<StoredMessage>, usize), MessengerError> {
        Ok(crate::conversation::messages(self.vault, conversation, limit).await?)
    }
}
