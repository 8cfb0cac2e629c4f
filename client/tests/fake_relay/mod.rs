//! A relay stand-in for browser tests and benchmarks: one sender whose
//! messages to us are encrypted here, fed to the messenger as `Deliver`
//! frames; lookups are answered and acknowledgements counted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use estafette_client::content::{Body, Content};
use estafette_client::transport::{Link, LinkError};
use estafette_client::{Identity, Profile};
use estafette_crypto::{
    Account, AccountPublicKey, Device, DeviceId as CryptoDeviceId, PreKeyBundle, PreKeyStore,
    Session,
};
use estafette_wire::{AccountInfo, Bundle, ClientFrame, Delivery, DeviceId, ServerFrame};

/// Frames waiting for the messenger, and what it sent back.
#[derive(Default)]
pub struct Wire {
    pub incoming: VecDeque<Vec<u8>>,
    pub acks: Vec<u64>,
    pub directory: Vec<AccountInfo>,
    /// Bundles served by `FetchBundles`, by handle (one device each).
    pub bundles: std::collections::BTreeMap<String, Bundle>,
    /// Pairwise `Send`s and the copies they carried.
    pub sends: usize,
    pub copies: usize,
    /// `GroupSend`s, with the devices and bytes of the last one.
    pub group_sends: usize,
    pub last_group_devices: usize,
    pub last_group_payload: usize,
}

/// The messenger's side of the stand-in.
#[derive(Clone, Default)]
pub struct FakeLink(pub Rc<RefCell<Wire>>);

impl FakeLink {
    /// A stand-in whose directory lists `sender`.
    pub fn listing(sender: &Sender) -> Self {
        let link = Self::default();
        link.0
            .borrow_mut()
            .directory
            .push(account_info(&sender.identity));
        link
    }
}

impl Link for FakeLink {
    async fn send(&mut self, frame: Vec<u8>) -> Result<(), LinkError> {
        let mut wire = self.0.borrow_mut();
        match ClientFrame::decode(&frame).map_err(|e| LinkError::Send(e.to_string()))? {
            ClientFrame::Ack(id) => wire.acks.push(id),
            ClientFrame::FetchBundles { request, handle } => {
                let found = wire
                    .directory
                    .iter()
                    .find(|a| a.handle == handle)
                    .cloned()
                    .zip(wire.bundles.get(&handle).cloned());
                let answer = match found {
                    Some((account, bundle)) => ServerFrame::Bundles {
                        request,
                        account,
                        bundles: vec![bundle],
                    },
                    None => ServerFrame::Error {
                        code: estafette_wire::ErrorCode::NotFound,
                        detail: String::new(),
                        request: Some(request),
                    },
                };
                wire.incoming.push_back(answer.encode());
            }
            ClientFrame::Send(send) => {
                wire.sends += 1;
                wire.copies += send.envelopes.len();
                let answer = ServerFrame::Accepted(send.idempotency_id);
                wire.incoming.push_back(answer.encode());
            }
            ClientFrame::GroupSend(send) => {
                wire.group_sends += 1;
                wire.last_group_devices = send.recipients.iter().map(|r| r.devices.len()).sum();
                wire.last_group_payload = send.payload.len();
                let answer = ServerFrame::Accepted(send.idempotency_id);
                wire.incoming.push_back(answer.encode());
            }
            ClientFrame::Lookup { request, handle } => {
                let answer = match wire.directory.iter().find(|a| a.handle == handle) {
                    Some(account) => ServerFrame::Account {
                        request,
                        account: account.clone(),
                    },
                    None => ServerFrame::Error {
                        code: estafette_wire::ErrorCode::NotFound,
                        detail: String::new(),
                        request: Some(request),
                    },
                };
                wire.incoming.push_back(answer.encode());
            }
            _ => {}
        }
        Ok(())
    }

    async fn recv(&mut self) -> Result<Vec<u8>, LinkError> {
        self.0
            .borrow_mut()
            .incoming
            .pop_front()
            .ok_or(LinkError::Closed(None))
    }
}

/// A fresh identity with prekeys, as `join` makes one.
pub fn identity(handle: &str) -> Identity {
    let account = Account::generate().unwrap();
    let device = Device::generate(&account, CryptoDeviceId::generate().unwrap(), 1).unwrap();
    let mut prekeys = PreKeyStore::new(&account, &device, 1).unwrap();
    prekeys.generate_one_time_prekeys(10).unwrap();
    prekeys
        .generate_kem_one_time_prekeys(&account, 10, 1)
        .unwrap();
    Identity {
        account,
        device,
        prekeys,
        profile: Profile {
            handle: handle.into(),
            name: handle.to_uppercase(),
            relay_url: "ws://127.0.0.1:1/ws".into(),
        },
    }
}

pub fn account_info(identity: &Identity) -> AccountInfo {
    AccountInfo {
        handle: identity.profile.handle.clone(),
        name: identity.profile.name.clone(),
        account_key: identity.account.public_key().to_bytes().to_vec(),
        devices: vec![DeviceId(identity.device.device_id().0)],
    }
}

/// A contact who writes to `recipient`, encrypting each message for real.
pub struct Sender {
    pub identity: Identity,
    session: Option<Session>,
    bundle: PreKeyBundle,
    recipient_key: AccountPublicKey,
    recipient: String,
    next_delivery: u64,
    sent: u64,
}

impl Sender {
    pub fn new(handle: &str, recipient: &Identity) -> Self {
        Self {
            identity: identity(handle),
            session: None,
            bundle: recipient.prekeys.bundle(&recipient.device).unwrap(),
            recipient_key: recipient.account.public_key(),
            recipient: recipient.profile.handle.clone(),
            next_delivery: 1,
            sent: 0,
        }
    }

    /// The `Deliver` frame of a text to the recipient.
    pub fn text(&mut self, text: &str) -> Vec<u8> {
        self.sent += 1;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).unwrap();
        let content = Content {
            id,
            sent_at_ms: 1_700_000_000_000 + self.sent,
            sender: self.identity.profile.handle.clone(),
            sender_device: self.identity.device.device_id().0,
            conversation: self.recipient.clone(),
            body: Body::Text(text.into()),
        }
        .encode();
        let payload = match &mut self.session {
            Some(session) => session.encrypt(&content).unwrap(),
            None => {
                let (session, payload) = Session::initiate(
                    &self.identity.device,
                    &self.bundle,
                    &self.recipient_key,
                    &content,
                )
                .unwrap();
                self.session = Some(session);
                payload
            }
        };
        let delivery_id = self.next_delivery;
        self.next_delivery += 1;
        ServerFrame::Deliver(Delivery {
            delivery_id,
            sender: self.identity.profile.handle.clone(),
            sender_device: DeviceId(self.identity.device.device_id().0),
            accepted_at_ms: 0,
            payload,
        })
        .encode()
    }
}

/// A member device the stand-in serves in the directory: identity key,
/// certificate, signed prekey and last-resort ML-KEM key (no one-time keys,
/// so it costs one ML-KEM key generation).
pub fn serve_member(link: &FakeLink, handle: &str) {
    let account = Account::generate().unwrap();
    let device = Device::generate(&account, CryptoDeviceId::generate().unwrap(), 1).unwrap();
    let prekeys = PreKeyStore::new(&account, &device, 1).unwrap();
    let bundle = prekeys.bundle(&device).unwrap();
    let info = AccountInfo {
        handle: handle.into(),
        name: format!("Agent {handle}"),
        account_key: account.public_key().to_bytes().to_vec(),
        devices: vec![DeviceId(device.device_id().0)],
    };
    let wire_bundle = Bundle {
        certificate: bundle.certificate.encode().to_vec(),
        signed_prekey: estafette_wire::SignedPreKey {
            id: bundle.signed_prekey.id,
            public_key: bundle.signed_prekey.public_key.to_bytes(),
            signature: bundle.signed_prekey.signature,
        },
        kem_prekey: estafette_wire::KemPreKey {
            id: bundle.kem_prekey.id,
            public_key: bundle.kem_prekey.public_key.as_bytes().to_vec(),
            signature: bundle.kem_prekey.signature,
        },
        kem_one_time: bundle.kem_prekey.one_time,
        one_time: None,
    };
    let mut wire = link.0.borrow_mut();
    wire.directory.push(info);
    wire.bundles.insert(handle.into(), wire_bundle);
}
