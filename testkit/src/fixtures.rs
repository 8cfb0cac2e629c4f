//! Participants of a test, on a relay in memory or in a process: invited,
//! registered with keys of their own, connected. Failures panic, as
//! assertions do.
#![allow(clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use estafette_wire::{DeviceId, ServerFrame};

use crate::client::{Client, SignIn};
use crate::identity::Identity;
use crate::link::Link;
use crate::memory::{ChannelLink, MemoryRelay};
use crate::relay_process::RelayProcess;
use crate::ws::{self, WsLink};

/// A relay a test can invite people to and connect to.
pub trait TestRelay: Sync {
    /// How its clients reach it.
    type Link: Link + 'static;

    /// A new connection, before `Hello`.
    fn connect(&self) -> impl Future<Output = Client<Self::Link>> + Send;

    /// An invitation for `handle`; its token.
    fn invite(&self, handle: &str, name: &str) -> impl Future<Output = String> + Send;
}

impl TestRelay for MemoryRelay {
    type Link = ChannelLink;

    async fn connect(&self) -> Client<ChannelLink> {
        MemoryRelay::connect(self)
    }

    async fn invite(&self, handle: &str, name: &str) -> String {
        match MemoryRelay::invite(self, handle, name).await {
            Ok(token) => token,
            Err(error) => panic!("cannot invite {handle}: {error}"),
        }
    }
}

impl TestRelay for RelayProcess {
    type Link = WsLink;

    async fn connect(&self) -> Client<WsLink> {
        match ws::connect(self.addr).await {
            Ok(client) => client,
            Err(error) => panic!("cannot connect to {}: {error}", self.addr),
        }
    }

    async fn invite(&self, handle: &str, name: &str) -> String {
        match RelayProcess::invite(self, handle, name) {
            Ok(token) => token,
            Err(error) => panic!("cannot invite {handle}: {error}"),
        }
    }
}

/// A connection that said `Hello` and got `Welcome`.
pub async fn hello<R: TestRelay>(relay: &R) -> Client<R::Link> {
    let mut client = relay.connect().await;
    client.hello().await;
    client
}

/// Registers `identity` with `token` and `opk`/`pqopk` one-time keys of
/// each kind; the connection and the relay's reply.
pub async fn register<R: TestRelay>(
    relay: &R,
    identity: &mut Identity,
    token: &str,
    opk: usize,
    pqopk: usize,
) -> (Client<R::Link>, ServerFrame) {
    let mut client = hello(relay).await;
    let prekeys = match identity.upload(opk, pqopk) {
        Ok(prekeys) => prekeys,
        Err(error) => panic!("cannot make prekeys: {error}"),
    };
    let how = SignIn::Register {
        token: token.into(),
        prekeys: Box::new(prekeys),
    };
    let reply = client.sign_in(&identity.keys, how).await;
    (client, reply_or_panic(reply))
}

/// Authenticates `identity`; the connection and the relay's reply.
pub async fn authenticate<R: TestRelay>(
    relay: &R,
    identity: &Identity,
) -> (Client<R::Link>, ServerFrame) {
    let mut client = hello(relay).await;
    let reply = client.sign_in(&identity.keys, SignIn::Authenticate).await;
    (client, reply_or_panic(reply))
}

fn reply_or_panic(reply: Result<ServerFrame, crate::error::KitError>) -> ServerFrame {
    match reply {
        Ok(frame) => frame,
        Err(error) => panic!("no answer to the sign-in: {error}"),
    }
}

/// Registers `identity` with a fresh invitation for `handle`; connected and authenticated.
async fn registered<R: TestRelay>(
    relay: &R,
    mut identity: Identity,
    handle: &str,
    name: &str,
    opk: usize,
) -> (Identity, Client<R::Link>) {
    let token = relay.invite(handle, name).await;
    let (client, reply) = register(relay, &mut identity, &token, opk, opk).await;
    assert!(
        matches!(reply, ServerFrame::Authenticated { .. }),
        "registration failed: {reply:?}"
    );
    (identity, client)
}

/// A registered account with one device and `opk` one-time keys of each
/// kind, connected and authenticated.
pub async fn member<R: TestRelay>(
    relay: &R,
    handle: &str,
    name: &str,
    opk: usize,
) -> (Identity, Client<R::Link>) {
    let identity = match Identity::generate() {
        Ok(identity) => identity,
        Err(error) => panic!("cannot make keys: {error}"),
    };
    registered(relay, identity, handle, name, opk).await
}

/// Another device of `owner`'s account, registered with a fresh invitation and connected.
pub async fn another_device<R: TestRelay>(
    relay: &R,
    owner: &Identity,
    handle: &str,
) -> (Identity, Client<R::Link>) {
    let identity = match Identity::device_of(Arc::clone(owner.account())) {
        Ok(identity) => identity,
        Err(error) => panic!("cannot make keys: {error}"),
    };
    registered(relay, identity, handle, handle, 30).await
}

/// An account with `devices` connected devices, 30 one-time keys each.
pub async fn account<R: TestRelay>(
    relay: &R,
    handle: &str,
    devices: usize,
) -> Vec<(Identity, Client<R::Link>)> {
    let first = member(relay, handle, handle, 30).await;
    let mut all = vec![first];
    while all.len() < devices {
        let more = match all.first() {
            Some((owner, _)) => another_device(relay, owner, handle).await,
            None => panic!("no first device"),
        };
        all.push(more);
    }
    all
}

/// The wire ids of these devices.
pub fn ids<L>(devices: &[(Identity, Client<L>)]) -> Vec<DeviceId> {
    devices.iter().map(|(identity, _)| identity.id()).collect()
}
