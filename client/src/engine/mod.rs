//! The engine the UI runs: one task that owns the [`Messenger`], keeps the
//! link to the relay up (jittered exponential backoff, keep-alive, offline
//! detection), carries out the UI's [`Command`]s and reports every [`Event`].
//!
//! Commands that only need stored state (sending, marking read) work offline:
//! what they owe the relay leaves on the next connection.

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(not(target_arch = "wasm32"))]
mod native;
mod user_message;

use std::future::Future;

use estafette_wire::ErrorCode;
use futures::channel::mpsc::UnboundedReceiver;
use futures::{FutureExt, StreamExt, select_biased};

#[cfg(target_arch = "wasm32")]
pub use browser::{BrowserRuntime, Engine};
#[cfg(not(target_arch = "wasm32"))]
pub use native::NativeRuntime;

use crate::UserMessage;
use crate::account::Identity;
use crate::connection::{Backoff, ConnectionState};
pub use crate::messenger::Event;
pub use crate::messenger::GroupCommand;
use crate::messenger::{Messenger, MessengerError};
use crate::store::{RecordStore, Vault};
use crate::transport::{LinkError, Transport};

/// Without any frame from the relay for this long, the engine sends a `Ping`.
const KEEPALIVE_MS: u64 = 20_000;
/// How often the engine looks at the browser's online flag while connected.
const TICK_MS: u32 = 250;
/// Receipts wait this long for more deliveries, so a burst gets one receipt.
const RECEIPT_BATCH_MS: u32 = 40;
/// A command or frame that takes longer than this means a dead link.
const WORK_TIMEOUT_MS: u32 = 30_000;
/// How often a long-lived connection checks whether the signed prekey is due.
const ROTATION_CHECK_MS: u64 = 3_600_000;
/// Connecting and authenticating must finish within this delay.
const CONNECT_TIMEOUT_MS: u32 = 10_000;
/// When the relay's budget for bundle fetches ran out mid-outbox (a first
/// message to a very large group), the outbox is tried again this much later
/// on the same connection; what was done is kept.
const OUTBOX_RETRY_MS: u64 = 5_000;

/// What the UI asks of the engine.
#[derive(Debug, Clone, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub enum Command {
    /// Send a text: stored at once (`Sending`), sent when connected.
    #[n(0)]
    SendText {
        /// The contact's handle.
        #[n(0)]
        conversation: String,
        /// The text.
        #[n(1)]
        text: String,
    },
    /// The user has seen the conversation: clear unread, send read receipts.
    #[n(1)]
    MarkRead {
        /// The contact's handle.
        #[n(0)]
        conversation: String,
    },
    /// The user is typing (or stopped) in a conversation; never stored.
    #[n(2)]
    Typing {
        /// The contact's handle.
        #[n(0)]
        conversation: String,
        /// Typing or not.
        #[n(1)]
        typing: bool,
    },
    /// Search the directory; answered by [`Event::SearchResults`].
    #[n(3)]
    Search {
        /// At least 2 characters of a name or handle.
        #[n(0)]
        query: String,
    },
    /// Open a conversation with an account found in the directory; answered
    /// by [`Event::ConversationUpdated`] (or [`Event::Failed`]).
    #[n(4)]
    StartConversation {
        /// Exact handle.
        #[n(0)]
        handle: String,
    },
    /// Accept a contact's new identity key (after comparing safety numbers);
    /// the messages held back leave.
    #[n(5)]
    AcceptIdentity {
        /// The contact's handle.
        #[n(0)]
        handle: String,
    },
    /// List this account's devices; answered by [`Event::OwnDevices`].
    #[n(6)]
    RefreshDevices,
    /// Create a group with these accounts (handles); answered by
    /// [`Event::ConversationUpdated`] and [`Event::GroupUpdated`].
    #[n(7)]
    CreateGroup {
        /// Its name.
        #[n(0)]
        name: String,
        /// The other members' handles.
        #[n(1)]
        members: Vec<String>,
    },
    /// Change a group (rename, add, remove, make admin: admins only; leave:
    /// anyone); answered by [`Event::GroupUpdated`] (or [`Event::Failed`]).
    #[n(8)]
    ChangeGroup {
        /// The group's conversation id.
        #[n(0)]
        conversation: String,
        /// The change.
        #[n(1)]
        change: GroupCommand,
    },
    /// A group's members and rights; answered by [`Event::GroupUpdated`].
    #[n(9)]
    ShowGroup {
        /// The group's conversation id.
        #[n(0)]
        conversation: String,
    },
}

/// What the engine needs from its platform: time, randomness, the network flag.
pub trait Runtime {
    /// Completes after `ms` milliseconds.
    fn sleep(&self, ms: u32) -> impl Future<Output = ()>;
    /// Uniform in `[0, 1)`.
    fn random(&self) -> f64;
    /// Whether the platform believes it has a network.
    fn online(&self) -> bool;
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// How a connected period ended.
enum Ended {
    /// The UI dropped the engine.
    Shutdown,
    /// The link failed; connect again.
    Lost,
    /// The relay refused us for good.
    Stopped(UserMessage),
}

/// Runs the engine until `commands` closes (the UI dropped its sender) or the
/// relay refuses this device for good.
pub async fn run<S, T, R>(
    vault: &Vault<S>,
    identity: Identity,
    transport: &T,
    runtime: &R,
    mut commands: UnboundedReceiver<Command>,
    emit: &dyn Fn(Event),
) -> Identity
where
    S: RecordStore,
    T: Transport,
    R: Runtime,
{
    let mut messenger = Messenger::<S, T::Link>::offline(vault, identity);
    let mut backoff = Backoff::default();
    let mut last_state = None;
    let mut report = |state: ConnectionState| {
        if last_state != Some(state) {
            last_state = Some(state);
            emit(Event::Connection(state));
        }
    };
    report(ConnectionState::Connecting);
    loop {
        if !runtime.online() {
            report(ConnectionState::Offline);
            while !runtime.online() {
                if !wait_serving(&mut messenger, &mut commands, runtime, TICK_MS, emit).await {
                    return messenger.into_identity();
                }
            }
            backoff.reset();
        }
        let connected = select_biased! {
            result = messenger.reconnect(transport).fuse() => Some(result),
            _ = runtime.sleep(CONNECT_TIMEOUT_MS).fuse() => None,
        };
        let failure = match connected {
            Some(Ok(())) => {
                backoff.reset();
                report(ConnectionState::Connected);
                match connected_loop(&mut messenger, &mut commands, runtime, emit).await {
                    Ended::Shutdown => return messenger.into_identity(),
                    Ended::Stopped(message) => {
                        emit(Event::Stopped(message));
                        return messenger.into_identity();
                    }
                    // A link that worked and dropped: retry at once, then back off.
                    Ended::Lost => {
                        backoff.reset();
                        None
                    }
                }
            }
            Some(Err(error)) => Some(error),
            None => Some(MessengerError::Link(LinkError::Connect("timed out".into()))),
        };
        messenger.disconnect();
        if let Some(MessengerError::Refused(code)) = &failure
            && let Some(message) = stopping(*code)
        {
            emit(Event::Stopped(message));
            return messenger.into_identity();
        }
        if !runtime.online() {
            continue;
        }
        let delay = backoff.next_delay_ms(runtime.random());
        report(ConnectionState::Reconnecting {
            attempt: backoff.attempt(),
            retry_in_ms: delay,
        });
        let mut waited = 0;
        while waited < delay && runtime.online() {
            let step = TICK_MS.min(delay - waited);
            if !wait_serving(&mut messenger, &mut commands, runtime, step, emit).await {
                return messenger.into_identity();
            }
            waited += step;
        }
    }
}

/// Whether a refusal ends the engine for good, and what to tell the user.
fn stopping(code: ErrorCode) -> Option<UserMessage> {
    match code {
        ErrorCode::AccountRevoked
        | ErrorCode::UnknownDevice
        | ErrorCode::Replaced
        | ErrorCode::BadSignature
        | ErrorCode::UnsupportedVersion => Some(user_message::for_stop(code)),
        _ => None,
    }
}

/// Waits `ms` while carrying out commands offline. `false` once the UI is gone.
async fn wait_serving<S: RecordStore, L: crate::transport::Link, R: Runtime>(
    messenger: &mut Messenger<'_, S, L>,
    commands: &mut UnboundedReceiver<Command>,
    runtime: &R,
    ms: u32,
    emit: &dyn Fn(Event),
) -> bool {
    let sleep = runtime.sleep(ms).fuse();
    futures::pin_mut!(sleep);
    loop {
        select_biased! {
            command = commands.next() => match command {
                None => return false,
                Some(command) => { let _ = execute(messenger, command, emit).await; }
            },
            _ = sleep => return true,
        }
    }
}

/// Frames, commands and housekeeping while the link is up.
async fn connected_loop<S: RecordStore, L: crate::transport::Link, R: Runtime>(
    messenger: &mut Messenger<'_, S, L>,
    commands: &mut UnboundedReceiver<Command>,
    runtime: &R,
    emit: &dyn Fn(Event),
) -> Ended {
    // What was owed while offline leaves first, in order.
    let start = async {
        messenger
            .rotate_signed_prekey_if_due(runtime.now_ms())
            .await?;
        let limited = rate_limited(send_outbox(messenger, emit).await)?;
        messenger.flush_receipts().await?;
        Ok::<bool, MessengerError>(limited)
    };
    let mut outbox_retry_at = match within(runtime, start).await {
        Err(error) => return ended_by(error, emit),
        Ok(limited) => limited.then(|| runtime.now_ms() + OUTBOX_RETRY_MS),
    };
    let mut last_heard = runtime.now_ms();
    let mut rotation_checked = last_heard;
    let mut pinged = false;
    let mut receipts_owed = messenger.receipts_owed().await.unwrap_or(0) > 0;
    loop {
        let wait = if receipts_owed && !messenger.has_queued_frame() {
            RECEIPT_BATCH_MS
        } else {
            TICK_MS
        };
        enum Next {
            Frame(Result<estafette_wire::ServerFrame, MessengerError>),
            Command(Option<Command>),
            Tick,
        }
        let next = select_biased! {
            frame = messenger.next_frame().fuse() => Next::Frame(frame),
            command = commands.next() => Next::Command(command),
            _ = runtime.sleep(wait).fuse() => Next::Tick,
        };
        let outcome = match next {
            Next::Frame(Err(error)) => Err(error),
            Next::Frame(Ok(frame)) => {
                last_heard = runtime.now_ms();
                pinged = false;
                within(runtime, messenger.handle_frame(frame))
                    .await
                    .map(|events| {
                        for event in events {
                            if matches!(event, Event::MessageAdded(ref m) if m.sender != messenger.handle())
                            {
                                receipts_owed = true;
                            }
                            emit(event);
                        }
                        for event in messenger.take_events() {
                            emit(event);
                        }
                    })
            }
            Next::Command(None) => return Ended::Shutdown,
            Next::Command(Some(command)) => {
                if matches!(command, Command::MarkRead { .. }) {
                    receipts_owed = true;
                }
                let run = execute(messenger, command, emit);
                match within(runtime, run).await {
                    Err(error) if is_link_failure(&error) => Err(error),
                    Err(MessengerError::Refused(ErrorCode::RateLimited)) => {
                        outbox_retry_at = Some(runtime.now_ms() + OUTBOX_RETRY_MS);
                        Ok(())
                    }
                    _ => Ok(()),
                }
            }
            Next::Tick => {
                if !runtime.online() {
                    return Ended::Lost;
                }
                let silent = runtime.now_ms().saturating_sub(last_heard);
                if silent >= 2 * KEEPALIVE_MS {
                    return Ended::Lost;
                }
                let mut result = Ok(());
                if silent >= KEEPALIVE_MS && !pinged {
                    pinged = true;
                    result = messenger.ping().await;
                }
                let now = runtime.now_ms();
                if result.is_ok() && now.saturating_sub(rotation_checked) >= ROTATION_CHECK_MS {
                    // A kiosk may stay connected for weeks.
                    rotation_checked = now;
                    result = within(runtime, messenger.rotate_signed_prekey_if_due(now))
                        .await
                        .map(|_| ());
                }
                if result.is_ok() && outbox_retry_at.is_some_and(|at| now >= at) {
                    outbox_retry_at = None;
                    let retry = within(runtime, send_outbox(messenger, emit)).await;
                    result = rate_limited(retry).map(|limited| {
                        if limited {
                            outbox_retry_at = Some(now + OUTBOX_RETRY_MS);
                        }
                    });
                }
                if result.is_ok() && receipts_owed && !messenger.has_queued_frame() {
                    receipts_owed = false;
                    result = within(runtime, messenger.flush_receipts())
                        .await
                        .map(|_| ());
                }
                result
            }
        };
        if let Err(error) = outcome {
            return ended_by(error, emit);
        }
    }
}

/// `Ok(true)` when the outbox stopped on the relay's rate limit (retried
/// later), other failures as they are.
fn rate_limited(result: Result<(), MessengerError>) -> Result<bool, MessengerError> {
    match result {
        Ok(()) => Ok(false),
        Err(MessengerError::Refused(ErrorCode::RateLimited)) => Ok(true),
        Err(error) => Err(error),
    }
}

fn is_link_failure(error: &MessengerError) -> bool {
    matches!(
        error,
        MessengerError::Link(_) | MessengerError::Offline | MessengerError::Protocol
    ) || matches!(error, MessengerError::Refused(code) if code.is_fatal())
}

fn ended_by(error: MessengerError, emit: &dyn Fn(Event)) -> Ended {
    if let MessengerError::Refused(code) = error
        && let Some(message) = stopping(code)
    {
        return Ended::Stopped(message);
    }
    if !is_link_failure(&error) {
        // A local failure (storage): tell the user, then start over.
        emit(Event::Failed(user_message::for_error(&error)));
    }
    Ended::Lost
}

/// `work`, or a link failure if it takes longer than [`WORK_TIMEOUT_MS`].
async fn within<R: Runtime, O>(
    runtime: &R,
    work: impl Future<Output = Result<O, MessengerError>>,
) -> Result<O, MessengerError> {
    select_biased! {
        output = work.fuse() => output,
        _ = runtime.sleep(WORK_TIMEOUT_MS).fuse() => Err(MessengerError::Link(LinkError::Closed(None))),
    }
}

/// Carries out one command, reporting its events and any failure the user
/// should hear about. The error is returned for the caller to judge the link.
async fn execute<S: RecordStore, L: crate::transport::Link>(
    messenger: &mut Messenger<'_, S, L>,
    command: Command,
    emit: &dyn Fn(Event),
) -> Result<(), MessengerError> {
    let result = match command {
        Command::SendText { conversation, text } => {
            match messenger.queue_text(&conversation, &text).await {
                Ok(message) => {
                    emit(Event::MessageAdded(message));
                    flush_events(messenger, emit);
                    send_outbox(messenger, emit).await
                }
                Err(error) => Err(error),
            }
        }
        Command::MarkRead { conversation } => messenger.mark_read(&conversation).await,
        Command::Typing {
            conversation,
            typing,
        } => messenger.send_typing(&conversation, typing).await,
        Command::Search { query } => messenger.search(&query).await.map(|accounts| {
            emit(Event::SearchResults { query, accounts });
        }),
        Command::StartConversation { handle } => {
            messenger.start_conversation(&handle).await.map(|_| ())
        }
        Command::AcceptIdentity { handle } => match messenger.accept_identity(&handle).await {
            Ok(()) => {
                flush_events(messenger, emit);
                send_outbox(messenger, emit).await
            }
            other => other,
        },
        Command::RefreshDevices => messenger
            .own_devices()
            .await
            .map(|devices| emit(Event::OwnDevices(devices))),
        Command::CreateGroup { name, members } => {
            match messenger.create_group(&name, &members).await {
                Ok(_) => {
                    flush_events(messenger, emit);
                    send_outbox(messenger, emit).await
                }
                Err(error) => Err(error),
            }
        }
        Command::ChangeGroup {
            conversation,
            change,
        } => match messenger.change_group(&conversation, change).await {
            Ok(()) => {
                flush_events(messenger, emit);
                send_outbox(messenger, emit).await
            }
            Err(error) => Err(error),
        },
        Command::ShowGroup { conversation } => messenger
            .group_view(&conversation)
            .await
            .map(|view| emit(Event::GroupUpdated(view))),
    };
    flush_events(messenger, emit);
    // A lost link is the engine's business, but "you are offline" answers a request.
    if let Err(error) = &result
        && (!is_link_failure(error) || *error == MessengerError::Offline)
    {
        emit(Event::Failed(user_message::for_error(error)));
    }
    result
}

/// Sends the outbox if connected, reporting each message the relay accepted.
async fn send_outbox<S: RecordStore, L: crate::transport::Link>(
    messenger: &mut Messenger<'_, S, L>,
    emit: &dyn Fn(Event),
) -> Result<(), MessengerError> {
    if !messenger.is_connected() {
        return Ok(());
    }
    for message in messenger.flush_outbox().await? {
        emit(Event::MessageUpdated(message));
    }
    Ok(())
}

fn flush_events<S: RecordStore, L: crate::transport::Link>(
    messenger: &mut Messenger<'_, S, L>,
    emit: &dyn Fn(Event),
) {
    for event in messenger.take_events() {
        emit(event);
    }
}
