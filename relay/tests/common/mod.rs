//! Test harness: the real `estafette-relay` binary, and devices that speak to it.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use estafette_crypto::{Account, Device, DeviceId as CryptoDeviceId, PreKeyStore};
use estafette_wire::*;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const BIN: &str = env!("CARGO_BIN_EXE_estafette-relay");

/// The relay binary running on a port chosen by the OS.
pub struct RelayProc {
    pub child: Child,
    pub addr: SocketAddr,
    pub data: PathBuf,
    args: Vec<String>,
}

impl RelayProc {
    pub fn start(data: &Path, args: &[&str]) -> Self {
        Self::start_on(
            data,
            "127.0.0.1:0",
            args.iter().map(|s| s.to_string()).collect(),
        )
    }

    fn start_on(data: &Path, listen: &str, args: Vec<String>) -> Self {
        let mut child = Command::new(BIN)
            .args([
                "--data-dir",
                data.to_str().unwrap(),
                "serve",
                "--listen",
                listen,
            ])
            .args(&args)
            .env("ESTAFETTE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the relay binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self {
            child,
            addr,
            data: data.to_path_buf(),
            args,
        }
    }

    /// `kill -9`, then start again on the same port and data.
    pub fn kill9_and_restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let listen = self.addr.to_string();
        // The port is free again once the process is gone.
        *self = Self::start_on(&self.data.clone(), &listen, self.args.clone());
    }

    pub fn invite(&self, handle: &str, name: &str) -> String {
        admin(&self.data, &["invite", "--handle", handle, "--name", name])
            .split("#/join/")
            .nth(1)
            .expect("a join URL")
            .trim()
            .to_owned()
    }

    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs an admin subcommand; returns stdout, panics on failure.
pub fn admin(data: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A device with its keys.
pub struct Identity {
    pub account: Account,
    pub device: Device,
    pub prekeys: PreKeyStore,
}

impl Identity {
    pub fn new() -> Self {
        let account = Account::generate().unwrap();
        Self::device_of(account)
    }

    pub fn device_of(account: Account) -> Self {
        let device = Device::generate(&account, CryptoDeviceId::generate().unwrap(), 1).unwrap();
        let prekeys = PreKeyStore::new(&account, &device, 1).unwrap();
        Self {
            account,
            device,
            prekeys,
        }
    }

    pub fn id(&self) -> DeviceId {
        DeviceId(self.device.device_id().0)
    }

    pub fn answer(&self, challenge: [u8; 32], origin: &str) -> ChallengeAnswer {
        ChallengeAnswer {
            challenge,
            certificate: self.device.certificate().encode().to_vec(),
            signature: self.account.sign_relay_challenge(
                &challenge,
                self.device.device_id(),
                origin,
            ),
        }
    }

    /// Signed and last-resort keys plus `opk` and `pqopk` one-time keys.
    pub fn upload(&mut self, opk: usize, pqopk: usize) -> PreKeyUpload {
        let spk = self.prekeys.signed_prekey().unwrap();
        let last = self.prekeys.kem_last_resort_prekey().unwrap();
        let one_time = self.prekeys.generate_one_time_prekeys(opk).unwrap();
        let kem_one_time = self
            .prekeys
            .generate_kem_one_time_prekeys(&self.account, pqopk, 1)
            .unwrap();
        PreKeyUpload {
            signed_prekey: Some(SignedPreKey {
                id: spk.id,
                public_key: spk.public_key.to_bytes(),
                signature: spk.signature,
            }),
            kem_last_resort: Some(kem_wire(&last)),
            one_time: one_time
                .iter()
                .map(|k| OneTimePreKey {
                    id: k.id,
                    public_key: k.public_key.to_bytes(),
                })
                .collect(),
            kem_one_time: kem_one_time.iter().map(kem_wire).collect(),
        }
    }
}

pub fn kem_wire(key: &estafette_crypto::KemPreKeyPublic) -> KemPreKey {
    KemPreKey {
        id: key.id,
        public_key: key.public_key.as_bytes().to_vec(),
        signature: key.signature,
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket to the relay.
pub struct Client {
    pub ws: Ws,
    pub welcome: Option<Welcome>,
}

/// What the relay said last.
#[derive(Debug)]
pub enum Heard {
    Frame(ServerFrame),
    Closed(Option<u16>),
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        Self { ws, welcome: None }
    }

    pub async fn hello(addr: SocketAddr) -> Self {
        let mut client = Self::connect(addr).await;
        client
            .send(&ClientFrame::Hello(Hello {
                wire_version: WIRE_VERSION,
                software: "test".into(),
            }))
            .await;
        match client.recv().await {
            ServerFrame::Welcome(w) => client.welcome = Some(w),
            other => panic!("expected Welcome, got {other:?}"),
        }
        client
    }

    pub fn challenge(&self) -> [u8; 32] {
        self.welcome.as_ref().unwrap().challenge
    }

    pub fn origin(&self) -> String {
        self.welcome.as_ref().unwrap().origin.clone()
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        self.ws
            .send(Message::Binary(frame.encode().into()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        let _ = self.ws.send(Message::Binary(bytes.into())).await;
    }

    pub async fn hear(&mut self, timeout: Duration) -> Heard {
        loop {
            match tokio::time::timeout(timeout, self.ws.next()).await {
                Err(_) => panic!("nothing heard within {timeout:?}"),
                Ok(None) | Ok(Some(Err(_))) => return Heard::Closed(None),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Heard::Closed(frame.map(|f| u16::from(f.code)));
                }
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    return Heard::Frame(ServerFrame::decode(&bytes).unwrap());
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    pub async fn recv(&mut self) -> ServerFrame {
        match self.hear(Duration::from_secs(10)).await {
            Heard::Frame(frame) => frame,
            Heard::Closed(code) => panic!("closed ({code:?}) while waiting for a frame"),
        }
    }

    /// Expects an error frame with `code`, then (for fatal ones) the matching close.
    pub async fn expect_error(&mut self, code: ErrorCode) {
        match self.recv_skipping_low().await {
            ServerFrame::Error { code: got, .. } => assert_eq!(got, code),
            other => panic!("expected error {code:?}, got {other:?}"),
        }
        if code.is_fatal() {
            self.expect_closed(code.close_code()).await;
        }
    }

    pub async fn expect_closed(&mut self, close: u16) {
        match self.hear(Duration::from_secs(10)).await {
            Heard::Closed(got) => assert_eq!(got, Some(close)),
            Heard::Frame(frame) => panic!("expected close {close}, got {frame:?}"),
        }
    }

    pub async fn register(
        addr: SocketAddr,
        identity: &mut Identity,
        token: &str,
        opk: usize,
        pqopk: usize,
    ) -> (Self, ServerFrame) {
        let mut client = Self::hello(addr).await;
        let answer = identity.answer(client.challenge(), &client.origin());
        let prekeys = identity.upload(opk, pqopk);
        client
            .send(&ClientFrame::Register(Box::new(Register {
                token: token.into(),
                answer,
                prekeys,
            })))
            .await;
        let reply = client.recv().await;
        (client, reply)
    }

    pub async fn authenticate(addr: SocketAddr, identity: &Identity) -> (Self, ServerFrame) {
        let mut client = Self::hello(addr).await;
        let answer = identity.answer(client.challenge(), &client.origin());
        client.send(&ClientFrame::Authenticate(answer)).await;
        let reply = client.recv().await;
        (client, reply)
    }

    /// Receives until a frame other than `PreKeysLow` arrives.
    pub async fn recv_skipping_low(&mut self) -> ServerFrame {
        loop {
            match self.recv().await {
                ServerFrame::PreKeysLow { .. } => continue,
                other => return other,
            }
        }
    }
}

/// The relay binary on a fresh data directory.
pub fn relay(args: &[&str]) -> (tempfile::TempDir, RelayProc) {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProc::start(dir.path(), args);
    (dir, relay)
}

/// Registers `identity` with a fresh invitation for `handle`; connected and authenticated.
async fn registered(
    relay: &RelayProc,
    mut identity: Identity,
    handle: &str,
    name: &str,
    opk: usize,
) -> (Identity, Client) {
    let token = relay.invite(handle, name);
    let (client, reply) = Client::register(relay.addr, &mut identity, &token, opk, opk).await;
    assert!(
        matches!(reply, ServerFrame::Authenticated { .. }),
        "registration failed: {reply:?}"
    );
    (identity, client)
}

/// A registered account with one device, connected and authenticated.
pub async fn member(relay: &RelayProc, handle: &str, name: &str, opk: usize) -> (Identity, Client) {
    registered(relay, Identity::new(), handle, name, opk).await
}

pub fn send_to(handle: &str, device: DeviceId, id: u8, payload: &[u8]) -> ClientFrame {
    ClientFrame::Send(Send {
        idempotency_id: [id; 16],
        envelopes: vec![Envelope {
            handle: handle.into(),
            device,
            payload: payload.to_vec(),
        }],
    })
}

/// Another device of `owner`'s account, registered with a fresh invitation and connected.
pub async fn another_device(
    relay: &RelayProc,
    owner: &Identity,
    handle: &str,
) -> (Identity, Client) {
    let identity = Identity::device_of(owner.account.clone());
    registered(relay, identity, handle, handle, 30).await
}

/// Sends the frames `frame(0)`, `frame(1)`… pipelined 32 deep, kills the relay
/// (`kill -9`) 1.5 s later and restarts it; the numbers it answered `Accepted`
/// for before dying (the number is the first 4 bytes of the idempotency id,
/// see [`numbered_id`]).
pub async fn kill9_while_sending(
    relay: &mut RelayProc,
    client: Client,
    frame: impl Fn(u32) -> ClientFrame + std::marker::Send + 'static,
) -> std::collections::BTreeSet<u32> {
    let sender = tokio::spawn(async move {
        let mut client = client;
        let mut accepted = std::collections::BTreeSet::new();
        let mut next: u32 = 0;
        let mut outstanding = 0;
        loop {
            while outstanding < 32 {
                let bytes = Message::Binary(frame(next).encode().into());
                if client.ws.send(bytes).await.is_err() {
                    return accepted;
                }
                next += 1;
                outstanding += 1;
            }
            match client.hear(Duration::from_secs(10)).await {
                Heard::Frame(ServerFrame::Accepted(id)) => {
                    accepted.insert(u32::from_be_bytes(id[..4].try_into().unwrap()));
                    outstanding -= 1;
                }
                Heard::Frame(ServerFrame::PreKeysLow { .. }) => {}
                Heard::Frame(other) => panic!("{other:?}"),
                Heard::Closed(_) => return accepted,
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    relay.kill9_and_restart();
    let accepted = sender.await.unwrap();
    assert!(
        accepted.len() > 100,
        "only {} accepted before the crash",
        accepted.len()
    );
    accepted
}

/// An idempotency id carrying `n` in its first 4 bytes.
pub fn numbered_id(n: u32) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&n.to_be_bytes());
    id
}

/// Acknowledges deliveries (whose payload starts with a number) until every
/// number of `accepted` came; the numbers delivered.
pub async fn receive_all(
    client: &mut Client,
    accepted: &std::collections::BTreeSet<u32>,
) -> std::collections::BTreeSet<u32> {
    let mut delivered = std::collections::BTreeSet::new();
    while !accepted.is_subset(&delivered) {
        match client.hear(Duration::from_secs(3)).await {
            Heard::Frame(ServerFrame::Deliver(d)) => {
                delivered.insert(u32::from_be_bytes(d.payload[..4].try_into().unwrap()));
                client.send(&ClientFrame::Ack(d.delivery_id)).await;
            }
            Heard::Frame(ServerFrame::PreKeysLow { .. }) => {}
            other => panic!(
                "{other:?} with {} of {} delivered",
                accepted.intersection(&delivered).count(),
                accepted.len()
            ),
        }
    }
    delivered
}

/// The relay's `/metrics` text.
pub async fn metrics(addr: SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    String::from_utf8_lossy(&raw).into_owned()
}
