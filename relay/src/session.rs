//! One client's WebSocket session. Generic over `Sink`/`Stream` so tests can
//! drive it with channels (axum `examples/testing-websockets`).
//!
//! Phases: `Hello` → `Welcome` (with a challenge) → `Register` or `Authenticate`
//! within [`SessionConfig::auth_timeout`] → authenticated requests and the
//! delivery of the device's queue.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message};
use estafette_crypto::DeviceCertificate;
use estafette_wire::limits::{MAX_GROUP_ACCOUNTS, MAX_QUERY_BYTES, MAX_SEARCH_RESULTS};
use estafette_wire::{
    ChallengeAnswer, ClientFrame, Delivery, DeviceId, ErrorCode, GroupSend, PreKeyUpload, Register,
    Send, ServerFrame, WIRE_VERSION, Welcome,
};
use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::stream::FuturesOrdered;
use futures::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::acks::Acks;
use crate::auth::{self, ChallengeBook};
use crate::metrics::{ErrorLabels, FrameLabels, Metrics};
use crate::registry::{Control, Registry, Signals};
use crate::store::{
    GroupSendOutcome, NewDevice, NewGroupSend, NewSend, PreKeyStock, RegisterRefusal, SendOutcome,
    Store, StoreError, StoreResult,
};

/// Software name sent in `Welcome`.
pub const SOFTWARE: &str = concat!("estafette-relay/", env!("CARGO_PKG_VERSION"));

/// WebSocket close codes that are not the 4000 + [`ErrorCode`] of a fatal error.
pub mod close_code {
    /// The client left or the relay is going away.
    pub const GOING_AWAY: u16 = 1001;
    /// The client reads too slowly; its outbound queue overflowed.
    pub const TOO_SLOW: u16 = 4100;
    /// Nothing heard from the client for the idle timeout.
    pub const IDLE: u16 = 4101;
}

/// Tunables of every session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Frames queued for one socket before the client is judged too slow.
    pub outbound_queue: usize,
    /// Silence allowed from the client.
    pub idle_timeout: Duration,
    /// Time from connection to authentication.
    pub auth_timeout: Duration,
    /// Deliveries sent and not yet acknowledged.
    pub max_in_flight: usize,
    /// Frames per second a connection may send (sustained).
    pub frame_rate: NonZeroU32,
    /// Frames a connection may send in a burst.
    pub frame_burst: NonZeroU32,
    /// Directory searches per minute.
    pub directory_per_minute: NonZeroU32,
    /// Bundle fetches per minute (sustained).
    pub bundles_per_minute: NonZeroU32,
    /// Bundle fetches in a burst: a first message to a 1,000-member group
    /// opens a session with every member at once.
    pub bundle_burst: NonZeroU32,
    /// Below this many one-time prekeys of a kind, the owner is told.
    pub low_prekeys: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            outbound_queue: 256,
            idle_timeout: Duration::from_secs(60),
            auth_timeout: Duration::from_secs(10),
            max_in_flight: 64,
            frame_rate: NonZeroU32::new(2_000).unwrap_or(NonZeroU32::MIN),
            frame_burst: NonZeroU32::new(4_000).unwrap_or(NonZeroU32::MIN),
            directory_per_minute: NonZeroU32::new(120).unwrap_or(NonZeroU32::MIN),
            bundles_per_minute: NonZeroU32::new(120).unwrap_or(NonZeroU32::MIN),
            bundle_burst: NonZeroU32::new(MAX_GROUP_ACCOUNTS as u32).unwrap_or(NonZeroU32::MIN),
            low_prekeys: 20,
        }
    }
}

/// What every session shares.
pub struct Shared {
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Connected devices.
    pub registry: Registry,
    /// Answered challenges.
    pub challenges: ChallengeBook,
    /// Acknowledged deliveries waiting to be deleted.
    pub acks: Arc<Acks>,
    /// Tunables.
    pub config: SessionConfig,
}

/// One connection's context.
pub struct SessionContext {
    /// Shared state.
    pub shared: Arc<Shared>,
    /// Turns `true` when the relay shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// The relay origin the client must sign (`ws://host:port`).
    pub origin: String,
    /// The client's address, for logs.
    pub peer: SocketAddr,
}

struct Authed {
    device: DeviceId,
    handle: String,
    certificate: DeviceCertificate,
    control: Arc<Signals>,
    /// Highest delivery id sent on this connection.
    sent_up_to: u64,
    in_flight: BTreeSet<u64>,
    /// The queue may hold copies not yet sent on this connection.
    more_queued: bool,
}

enum Phase {
    AwaitingHello,
    AwaitingAuth,
    Ready(Box<Authed>),
}

/// Sends one connection may have being stored before its next frames wait.
const MAX_STORING: usize = 32;

/// Sends being stored, answered in the order they came. The queue is made
/// at a connection's first send: an empty `FuturesOrdered` already holds two
/// allocations (≈ 200 bytes for every idle socket).
#[derive(Default)]
struct Storing(Option<FuturesOrdered<BoxFuture<'static, Stored>>>);

impl Storing {
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, FuturesOrdered::len)
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push_back(&mut self, future: BoxFuture<'static, Stored>) {
        self.0
            .get_or_insert_with(FuturesOrdered::new)
            .push_back(future);
    }

    async fn next(&mut self) -> Option<Stored> {
        match &mut self.0 {
            Some(queue) => queue.next().await,
            None => None,
        }
    }
}

/// A send's outcome from the store, with its idempotency id.
enum Stored {
    Send([u8; 16], StoreResult<SendOutcome>),
    Group([u8; 16], StoreResult<GroupSendOutcome>),
}

/// Why the session ends.
enum End {
    /// The client closed or the socket failed.
    Gone,
    /// Close with this code after the frames already queued.
    Close(u16, &'static str),
}

struct Session {
    shared: Arc<Shared>,
    /// To the writer task. A futures channel: it allocates per queued frame,
    /// not a block of slots per socket up front (idle memory, docs/load.md).
    tx: std::sync::Mutex<mpsc::Sender<Message>>,
    challenge: [u8; 32],
    origin: String,
    connection: u64,
    directory_limit: DefaultDirectRateLimiter,
    bundle_limit: DefaultDirectRateLimiter,
}

/// Resolves once the relay is shutting down.
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // Drop the borrow guard here: it must not live across an await.
    let _ = shutdown.wait_for(|stopping| *stopping).await.map(|_| ());
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn per_minute(n: NonZeroU32) -> DefaultDirectRateLimiter {
    RateLimiter::direct(Quota::per_minute(n))
}

/// Runs a session until the client leaves, breaks the protocol, or the relay stops.
pub async fn run<S, R, E>(sink: S, mut stream: R, ctx: SessionContext)
where
    S: Sink<Message> + Unpin + std::marker::Send + 'static,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let SessionContext {
        shared,
        mut shutdown,
        origin,
        peer,
    } = ctx;
    let metrics = shared.metrics.clone();
    metrics.connections_open.inc();
    metrics.connections_total.inc();
    let (tx, rx) = mpsc::channel::<Message>(shared.config.outbound_queue.max(1));
    let tx = std::sync::Mutex::new(tx);
    let writer = tokio::spawn(write_all(sink, rx));
    let config = shared.config.clone();
    let frame_limit =
        RateLimiter::direct(Quota::per_second(config.frame_rate).allow_burst(config.frame_burst));
    let challenge = auth::fresh_challenge().unwrap_or([0; 32]);
    let mut session = Session {
        connection: shared.registry.connection_id(),
        directory_limit: per_minute(config.directory_per_minute),
        bundle_limit: RateLimiter::direct(
            Quota::per_minute(config.bundles_per_minute).allow_burst(config.bundle_burst),
        ),
        shared,
        tx,
        challenge,
        origin,
    };
    let auth_deadline = Instant::now() + config.auth_timeout;
    let mut idle_deadline = Instant::now() + config.idle_timeout;
    let mut phase = Phase::AwaitingHello;
    // Sends being stored, answered in the order they came.
    let mut storing = Storing::default();
    let end = loop {
        let authenticated = matches!(phase, Phase::Ready(_));
        let control = async {
            match &mut phase {
                Phase::Ready(authed) => authed.control.next().await,
                _ => std::future::pending().await,
            }
        };
        let next = tokio::select! {
            biased;
            () = stopped(&mut shutdown) => {
                break session.fail(ErrorCode::ShuttingDown, "The relay is restarting.", None);
            }
            Some(stored) = storing.next(), if !storing.is_empty() => {
                match session.on_stored(stored) {
                    Ok(()) => continue,
                    Err(end) => break end,
                }
            }
            control = control => {
                // Boxed: the handlers' states would otherwise be part of every
                // idle session's future (about 2 KiB per socket).
                match Box::pin(session.on_control(&mut phase, control)).await {
                    Ok(()) => continue,
                    Err(end) => break end,
                }
            }
            () = tokio::time::sleep_until(auth_deadline), if !authenticated => {
                break session.fail(ErrorCode::AuthTimeout, "No answer to the challenge in time.", None);
            }
            () = tokio::time::sleep_until(idle_deadline) => break End::Close(close_code::IDLE, "idle"),
            // Last: a client sending without pause must not starve the rest.
            next = stream.next(), if storing.len() < MAX_STORING => next,
        };
        idle_deadline = Instant::now() + config.idle_timeout;
        let bytes = match next {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break End::Gone,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Text(_))) => {
                break session.fail(ErrorCode::MalformedFrame, "Frames are binary CBOR.", None);
            }
            Some(Ok(Message::Binary(bytes))) => bytes,
        };
        if frame_limit.check().is_err() {
            if let Err(end) = session.answer_stored(&mut storing).await {
                break end;
            }
            session.error(ErrorCode::RateLimited, "Too many frames; slow down.", None);
            continue;
        }
        let frame = match ClientFrame::decode(&bytes) {
            Ok(frame) => frame,
            Err(error) => {
                tracing::debug!(%peer, %error, "malformed frame");
                break session.fail(
                    ErrorCode::MalformedFrame,
                    "The frame could not be decoded.",
                    None,
                );
            }
        };
        metrics
            .frames
            .get_or_create(&FrameLabels {
                direction: "in",
                kind: frame.kind(),
            })
            .inc();
        let handled = match (&phase, frame) {
            // Stored without waiting: the connection's next frames are read
            // (and its next sends join the same commit) meanwhile.
            (Phase::Ready(authed), ClientFrame::Send(send)) => session
                .store_send(authed, send)
                .map(|f| storing.push_back(f)),
            (Phase::Ready(authed), ClientFrame::GroupSend(send)) => session
                .store_group_send(authed, send)
                .map(|f| storing.push_back(f)),
            // Acks answer nothing: no need to wait for the sends before them.
            (Phase::Ready(_), frame @ ClientFrame::Ack(_)) => {
                Box::pin(session.on_frame(&mut phase, frame)).await
            }
            // Anything else is answered after the sends before it.
            (_, frame) => match session.answer_stored(&mut storing).await {
                Ok(()) => Box::pin(session.on_frame(&mut phase, frame)).await,
                Err(end) => Err(end),
            },
        };
        if let Err(end) = handled {
            break end;
        }
    };
    if let Phase::Ready(authed) = &phase {
        session
            .shared
            .registry
            .remove(authed.device, session.connection);
        metrics
            .devices_connected
            .set(session.shared.registry.len() as i64);
    }
    if let End::Close(code, reason) = end {
        // A full queue means the client is not reading: drop it without ceremony.
        let _ = session.sender().try_send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })));
    }
    drop(session);
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    metrics.connections_open.dec();
}

impl Session {
    /// The writer's queue; never held across an await.
    fn sender(&self) -> std::sync::MutexGuard<'_, mpsc::Sender<Message>> {
        self.tx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Queues a frame; `Err` when the client is too slow to take it.
    fn send(&self, frame: &ServerFrame) -> Result<(), End> {
        self.metrics()
            .frames
            .get_or_create(&FrameLabels {
                direction: "out",
                kind: frame.kind(),
            })
            .inc();
        self.sender()
            .try_send(Message::Binary(frame.encode().into()))
            .map_err(|_| End::Close(close_code::TOO_SLOW, "too slow"))
    }

    fn error(&self, code: ErrorCode, detail: &str, request: Option<u32>) {
        self.metrics()
            .errors
            .get_or_create(&ErrorLabels { code: code.name() })
            .inc();
        let _ = self.send(&ServerFrame::Error {
            code,
            detail: detail.into(),
            request,
        });
    }

    /// Sends a fatal error; the session then closes with its code.
    fn fail(&self, code: ErrorCode, detail: &str, request: Option<u32>) -> End {
        self.error(code, detail, request);
        End::Close(code.close_code(), code.name())
    }

    fn internal(&self, error: &StoreError, request: Option<u32>) -> End {
        tracing::error!(%error, "store failure");
        self.fail(
            ErrorCode::Internal,
            "The relay failed; retry later.",
            request,
        )
    }

    async fn on_control(&mut self, phase: &mut Phase, control: Control) -> Result<(), End> {
        let Phase::Ready(authed) = phase else {
            return Ok(());
        };
        match control {
            Control::Wake => {
                authed.more_queued = true;
                self.pump(authed).await
            }
            Control::Replaced => Err(self.fail(
                ErrorCode::Replaced,
                "Another connection of this device replaced this one.",
                None,
            )),
            Control::Revoked => {
                Err(self.fail(ErrorCode::AccountRevoked, "The account was revoked.", None))
            }
            Control::PreKeysLow(stock) => self.send(&ServerFrame::PreKeysLow {
                one_time_prekeys: stock.one_time,
                kem_one_time_prekeys: stock.kem_one_time,
            }),
        }
    }

    async fn on_frame(&mut self, phase: &mut Phase, frame: ClientFrame) -> Result<(), End> {
        if let Phase::Ready(authed) = phase {
            return self.on_ready_frame(authed, frame).await;
        }
        let awaiting_hello = matches!(phase, Phase::AwaitingHello);
        match frame {
            ClientFrame::Hello(hello) if awaiting_hello => {
                if hello.wire_version != WIRE_VERSION {
                    return Err(self.fail(
                        ErrorCode::UnsupportedVersion,
                        "This relay speaks wire version 1.",
                        None,
                    ));
                }
                *phase = Phase::AwaitingAuth;
                self.send(&ServerFrame::Welcome(Welcome {
                    wire_version: WIRE_VERSION,
                    software: SOFTWARE.into(),
                    challenge: self.challenge,
                    origin: self.origin.clone(),
                }))
            }
            _ if awaiting_hello => {
                Err(self.fail(ErrorCode::UnexpectedFrame, "Send Hello first.", None))
            }
            ClientFrame::Ping(value) => self.send(&ServerFrame::Pong(value)),
            ClientFrame::Register(register) => {
                let authed = self.register(*register).await?;
                self.become_ready(phase, authed).await
            }
            ClientFrame::Authenticate(answer) => {
                let authed = self.authenticate(answer).await?;
                self.become_ready(phase, authed).await
            }
            ClientFrame::UploadPreKeys { request, .. }
            | ClientFrame::Lookup { request, .. }
            | ClientFrame::Search { request, .. }
            | ClientFrame::FetchBundles { request, .. } => {
                self.error(
                    ErrorCode::NotAuthenticated,
                    "Authenticate first.",
                    Some(request),
                );
                Ok(())
            }
            ClientFrame::Send(_) | ClientFrame::GroupSend(_) | ClientFrame::Ack(_) => {
                self.error(ErrorCode::NotAuthenticated, "Authenticate first.", None);
                Ok(())
            }
            ClientFrame::Hello(_) => {
                Err(self.fail(ErrorCode::UnexpectedFrame, "Hello was already sent.", None))
            }
        }
    }

    async fn become_ready(
        &mut self,
        phase: &mut Phase,
        authed: (Box<Authed>, Arc<Signals>),
    ) -> Result<(), End> {
        let (mut authed, control_tx) = authed;
        self.shared
            .registry
            .insert(authed.device, self.connection, control_tx);
        self.metrics()
            .devices_connected
            .set(self.shared.registry.len() as i64);
        let result = self.pump(&mut authed).await;
        *phase = Phase::Ready(authed);
        result
    }

    async fn register(&self, register: Register) -> Result<(Box<Authed>, Arc<Signals>), End> {
        let Register {
            token,
            answer,
            prekeys,
        } = register;
        let certificate = auth::verify_answer(
            &self.shared.challenges,
            &self.challenge,
            &self.origin,
            &answer,
        )
        .map_err(|code| self.fail(code, "The challenge answer is not valid.", None))?;
        if prekeys.signed_prekey.is_none() || prekeys.kem_last_resort.is_none() {
            return Err(self.fail(
                ErrorCode::InvalidPreKeys,
                "Registration needs a signed prekey and a last-resort ML-KEM key.",
                None,
            ));
        }
        auth::verify_prekeys(&certificate, &prekeys)
            .map_err(|code| self.fail(code, "A prekey signature does not verify.", None))?;
        let device = auth::device_id(&certificate);
        let new = NewDevice {
            token_hash: Sha256::digest(token.as_bytes()).into(),
            account_key: certificate.account_key().to_bytes(),
            device_id: device,
            certificate: answer.certificate,
            prekeys,
            now_ms: now_ms(),
        };
        let account = match self.shared.store.register(new).await {
            Err(error) => return Err(self.internal(&error, None)),
            Ok(Err(refusal)) => {
                let (code, detail) = match refusal {
                    RegisterRefusal::InvalidToken => {
                        (ErrorCode::InvalidToken, "No invitation has this token.")
                    }
                    RegisterRefusal::TokenUsed => {
                        (ErrorCode::TokenUsed, "This invitation was already used.")
                    }
                    RegisterRefusal::TokenExpired => {
                        (ErrorCode::TokenExpired, "This invitation has expired.")
                    }
                    RegisterRefusal::HandleTaken => (
                        ErrorCode::HandleTaken,
                        "This handle belongs to another identity key.",
                    ),
                    RegisterRefusal::Revoked => {
                        (ErrorCode::AccountRevoked, "The account was revoked.")
                    }
                    RegisterRefusal::TooManyDevices => (
                        ErrorCode::TooManyDevices,
                        "The account has too many devices, or this device exists.",
                    ),
                };
                return Err(self.fail(code, detail, None));
            }
            Ok(Ok(account)) => account,
        };
        tracing::info!(handle = %account.handle, "device registered");
        let stock = self
            .shared
            .store
            .prekey_stock(device)
            .await
            .map_err(|e| self.internal(&e, None))?;
        self.authenticated(certificate, account, stock)
    }

    async fn authenticate(
        &self,
        answer: ChallengeAnswer,
    ) -> Result<(Box<Authed>, Arc<Signals>), End> {
        let certificate = auth::verify_answer(
            &self.shared.challenges,
            &self.challenge,
            &self.origin,
            &answer,
        )
        .map_err(|code| self.fail(code, "The challenge answer is not valid.", None))?;
        let device = auth::device_id(&certificate);
        let record = match self.shared.store.device(device).await {
            Err(error) => return Err(self.internal(&error, None)),
            Ok(None) => {
                return Err(self.fail(
                    ErrorCode::UnknownDevice,
                    "This device is not registered.",
                    None,
                ));
            }
            Ok(Some(record)) => record,
        };
        if record.revoked {
            return Err(self.fail(ErrorCode::AccountRevoked, "The account was revoked.", None));
        }
        if record.certificate != answer.certificate {
            return Err(self.fail(
                ErrorCode::BadSignature,
                "This is not the certificate the device registered.",
                None,
            ));
        }
        let stock = self
            .shared
            .store
            .prekey_stock(device)
            .await
            .map_err(|e| self.internal(&e, None))?;
        self.authenticated(certificate, record.account, stock)
    }

    fn authenticated(
        &self,
        certificate: DeviceCertificate,
        account: estafette_wire::AccountInfo,
        stock: PreKeyStock,
    ) -> Result<(Box<Authed>, Arc<Signals>), End> {
        let control = Arc::new(Signals::default());
        let control_tx = control.clone();
        let authed = Authed {
            device: auth::device_id(&certificate),
            handle: account.handle.clone(),
            certificate,
            control,
            sent_up_to: 0,
            in_flight: BTreeSet::new(),
            more_queued: true,
        };
        self.send(&ServerFrame::Authenticated {
            account,
            one_time_prekeys: stock.one_time,
            kem_one_time_prekeys: stock.kem_one_time,
        })?;
        if stock.one_time < self.shared.config.low_prekeys
            || stock.kem_one_time < self.shared.config.low_prekeys
        {
            self.send(&ServerFrame::PreKeysLow {
                one_time_prekeys: stock.one_time,
                kem_one_time_prekeys: stock.kem_one_time,
            })?;
        }
        Ok((Box::new(authed), control_tx))
    }

    async fn on_ready_frame(&mut self, authed: &mut Authed, frame: ClientFrame) -> Result<(), End> {
        let store = self.shared.store.clone();
        match frame {
            ClientFrame::UploadPreKeys { request, prekeys } => {
                self.upload(authed, request, *prekeys).await
            }
            ClientFrame::Lookup { request, handle } => match store.account(handle).await {
                Err(error) => Err(self.internal(&error, Some(request))),
                Ok(None) => {
                    self.error(ErrorCode::NotFound, "No such account.", Some(request));
                    Ok(())
                }
                Ok(Some(account)) => self.send(&ServerFrame::Account { request, account }),
            },
            ClientFrame::Search { request, query } => {
                if !self.allowed(&self.directory_limit, request) {
                    return Ok(());
                }
                let query = query.trim().to_owned();
                if query.chars().count() < 2 || query.len() > MAX_QUERY_BYTES {
                    return self.send(&ServerFrame::SearchResults {
                        request,
                        accounts: Vec::new(),
                    });
                }
                match store.search(query, MAX_SEARCH_RESULTS as u32).await {
                    Err(error) => Err(self.internal(&error, Some(request))),
                    Ok(accounts) => self.send(&ServerFrame::SearchResults { request, accounts }),
                }
            }
            ClientFrame::FetchBundles { request, handle } => {
                if !self.allowed(&self.bundle_limit, request) {
                    return Ok(());
                }
                match store.take_bundles(handle).await {
                    Err(error) => Err(self.internal(&error, Some(request))),
                    Ok(None) => {
                        self.error(ErrorCode::NotFound, "No such account.", Some(request));
                        Ok(())
                    }
                    Ok(Some((account, bundles))) => {
                        let low = self.shared.config.low_prekeys;
                        for (bundle, stock) in &bundles {
                            let owner = bundle
                                .certificate
                                .get(32..48)
                                .and_then(|b| <[u8; 16]>::try_from(b).ok());
                            if let Some(owner) = owner
                                && (stock.one_time < low || stock.kem_one_time < low)
                            {
                                self.shared
                                    .registry
                                    .notify(DeviceId(owner), Control::PreKeysLow(*stock));
                            }
                        }
                        let bundles = bundles.into_iter().map(|(bundle, _)| bundle).collect();
                        self.send(&ServerFrame::Bundles {
                            request,
                            account,
                            bundles,
                        })
                    }
                }
            }
            ClientFrame::Send(send) => {
                let stored = self.store_send(authed, send)?.await;
                self.on_stored(stored)
            }
            ClientFrame::GroupSend(send) => {
                let stored = self.store_group_send(authed, send)?.await;
                self.on_stored(stored)
            }
            ClientFrame::Ack(seq) => {
                // Only a delivery in flight here can be acknowledged here: a
                // copy sent on an earlier connection comes again first.
                if authed.in_flight.remove(&seq) {
                    self.shared.acks.push(authed.device, seq);
                }
                // Refill when half the window is free: one query per many acks.
                if authed.more_queued
                    && authed.in_flight.len() <= self.shared.config.max_in_flight / 2
                {
                    self.pump(authed).await?;
                }
                Ok(())
            }
            ClientFrame::Ping(value) => self.send(&ServerFrame::Pong(value)),
            ClientFrame::Hello(_) | ClientFrame::Register(_) | ClientFrame::Authenticate(_) => {
                Err(self.fail(
                    ErrorCode::UnexpectedFrame,
                    "That frame is not expected now.",
                    None,
                ))
            }
        }
    }

    /// Counts a search or bundle fetch against `limit`; answers
    /// `RateLimited` when over it.
    fn allowed(&self, limit: &DefaultDirectRateLimiter, request: u32) -> bool {
        let allowed = limit.check().is_ok();
        if !allowed {
            self.error(
                ErrorCode::RateLimited,
                "Too many directory requests; wait a minute.",
                Some(request),
            );
        }
        allowed
    }

    async fn upload(
        &self,
        authed: &Authed,
        request: u32,
        prekeys: PreKeyUpload,
    ) -> Result<(), End> {
        if auth::verify_prekeys(&authed.certificate, &prekeys).is_err() {
            self.error(
                ErrorCode::InvalidPreKeys,
                "A prekey is invalid.",
                Some(request),
            );
            return Ok(());
        }
        match self
            .shared
            .store
            .upload_prekeys(authed.device, prekeys)
            .await
        {
            Err(error) => Err(self.internal(&error, Some(request))),
            Ok(None) => {
                self.error(
                    ErrorCode::TooManyPreKeys,
                    "The relay holds the maximum of prekeys for this device.",
                    Some(request),
                );
                Ok(())
            }
            Ok(Some(stock)) => self.send(&ServerFrame::PreKeysStored {
                request,
                one_time_prekeys: stock.one_time,
                kem_one_time_prekeys: stock.kem_one_time,
            }),
        }
    }

    /// Answers the sends being stored, in order, once each is stored.
    async fn answer_stored(&self, storing: &mut Storing) -> Result<(), End> {
        while let Some(stored) = storing.next().await {
            self.on_stored(stored)?;
        }
        Ok(())
    }

    /// Checks a `Send` and starts storing it.
    fn store_send(&self, authed: &Authed, send: Send) -> Result<BoxFuture<'static, Stored>, End> {
        let Send {
            idempotency_id,
            envelopes,
        } = send;
        let mut seen = BTreeSet::new();
        if envelopes.is_empty() || !envelopes.iter().all(|e| seen.insert(e.device)) {
            return Err(self.fail(
                ErrorCode::MalformedFrame,
                "A send needs distinct recipient devices.",
                None,
            ));
        }
        let store = self.shared.store.clone();
        let new = NewSend {
            sender_handle: authed.handle.clone(),
            sender_device: authed.device,
            idempotency_id,
            envelopes,
            now_ms: now_ms(),
        };
        Ok(async move { Stored::Send(idempotency_id, store.send(new).await) }.boxed())
    }

    /// Checks a `GroupSend` and starts storing it.
    fn store_group_send(
        &self,
        authed: &Authed,
        send: GroupSend,
    ) -> Result<BoxFuture<'static, Stored>, End> {
        let GroupSend {
            idempotency_id,
            recipients,
            payload,
        } = send;
        let mut handles = BTreeSet::new();
        let mut devices = BTreeSet::new();
        let distinct = recipients.iter().all(|r| {
            !r.devices.is_empty()
                && handles.insert(r.handle.as_str())
                && r.devices.iter().all(|d| devices.insert(*d))
        });
        if recipients.is_empty() || !distinct {
            return Err(self.fail(
                ErrorCode::MalformedFrame,
                "A group send needs distinct accounts, each with distinct devices.",
                None,
            ));
        }
        let store = self.shared.store.clone();
        let new = NewGroupSend {
            sender_handle: authed.handle.clone(),
            sender_device: authed.device,
            idempotency_id,
            recipients,
            payload,
            now_ms: now_ms(),
        };
        Ok(async move { Stored::Group(idempotency_id, store.group_send(new).await) }.boxed())
    }

    /// Answers a stored (or refused) send and wakes its recipients.
    fn on_stored(&self, stored: Stored) -> Result<(), End> {
        match stored {
            Stored::Send(_, Err(error)) | Stored::Group(_, Err(error)) => {
                Err(self.internal(&error, None))
            }
            Stored::Send(idempotency_id, Ok(SendOutcome::Accepted(devices))) => {
                if !devices.is_empty() {
                    self.metrics().messages_accepted.inc();
                }
                self.queued(devices);
                self.send(&ServerFrame::Accepted(idempotency_id))
            }
            Stored::Send(idempotency_id, Ok(SendOutcome::Stale(accounts)))
            | Stored::Group(idempotency_id, Ok(GroupSendOutcome::Stale(accounts))) => {
                self.send(&ServerFrame::StaleDevices {
                    idempotency_id,
                    accounts,
                })
            }
            Stored::Send(idempotency_id, Ok(SendOutcome::QueueFull(handle))) => {
                self.send(&ServerFrame::QueueFull {
                    idempotency_id,
                    handle,
                })
            }
            Stored::Group(
                idempotency_id,
                Ok(GroupSendOutcome::Accepted { queued, queue_full }),
            ) => {
                let metrics = self.metrics();
                let skipped: usize = queue_full.iter().map(|r| r.devices.len()).sum();
                if !queued.is_empty() || skipped != 0 {
                    metrics.messages_accepted.inc();
                    metrics.group_messages_accepted.inc();
                    metrics.group_copies_skipped.inc_by(skipped as u64);
                }
                self.queued(queued);
                if queue_full.is_empty() {
                    self.send(&ServerFrame::Accepted(idempotency_id))
                } else {
                    self.send(&ServerFrame::GroupAccepted {
                        idempotency_id,
                        queue_full,
                    })
                }
            }
        }
    }

    /// Counts copies just stored and wakes their devices' sessions.
    fn queued(&self, devices: Vec<DeviceId>) {
        self.metrics().copies_accepted.inc_by(devices.len() as u64);
        self.metrics().queue_depth.inc_by(devices.len() as i64);
        for device in devices {
            self.shared.registry.notify(device, Control::Wake);
        }
    }

    /// Sends queued copies until `max_in_flight` are unacknowledged.
    async fn pump(&self, authed: &mut Authed) -> Result<(), End> {
        let room = self
            .shared
            .config
            .max_in_flight
            .saturating_sub(authed.in_flight.len());
        if room == 0 {
            return Ok(());
        }
        let copies = self
            .shared
            .store
            .pending(authed.device, authed.sent_up_to, room as u32)
            .await
            .map_err(|e| self.internal(&e, None))?;
        authed.more_queued = copies.len() == room;
        let now = now_ms();
        for copy in copies {
            authed.sent_up_to = authed.sent_up_to.max(copy.seq);
            authed.in_flight.insert(copy.seq);
            self.metrics()
                .deliver_latency
                .observe(now.saturating_sub(copy.accepted_at_ms) as f64 / 1000.0);
            self.send(&ServerFrame::Deliver(Delivery {
                delivery_id: copy.seq,
                sender: copy.sender,
                sender_device: copy.sender_device,
                accepted_at_ms: copy.accepted_at_ms,
                payload: copy.payload,
            }))?;
        }
        Ok(())
    }
}

async fn write_all<S: Sink<Message> + Unpin>(mut sink: S, mut rx: mpsc::Receiver<Message>) {
    while let Some(message) = rx.next().await {
        let closing = matches!(message, Message::Close(_));
        // Feed what is queued, flush once: fewer syscalls under load.
        if sink.feed(message).await.is_err() {
            break;
        }
        let mut closed = closing;
        while !closed {
            match rx.try_recv() {
                Ok(more) => {
                    closed = matches!(more, Message::Close(_));
                    if sink.feed(more).await.is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        if sink.flush().await.is_err() || closed {
            break;
        }
    }
    let _ = sink.close().await;
}
