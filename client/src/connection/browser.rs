//! The relay connection in the browser: a WebSocket kept open for as long as
//! the page lives, with `Hello`, keep-alive and jittered reconnection.

use std::cell::Cell;
use std::rc::Rc;

use estafette_wire::{ClientFrame, ErrorCode, Hello, ServerFrame, WEBSOCKET_PATH, WIRE_VERSION};
use futures::future::{Either, select};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use gloo_timers::future::TimeoutFuture;

use super::{Backoff, ConnectionState};

/// Without any frame from the relay for this long, we send a `Ping`.
const KEEPALIVE_MS: u32 = 20_000;
/// The relay must answer `Hello` within this delay.
const HELLO_TIMEOUT_MS: u32 = 10_000;
/// How often a waiting loop looks at `navigator.onLine`.
const ONLINE_POLL_MS: u32 = 250;

/// The WebSocket URL of the relay serving this page (`wss://host/ws`). It
/// works in the app's worker too: a worker started from a `blob:` has the
/// page's origin, not its scheme and host.
pub fn relay_url_for_page() -> Option<String> {
    let location = global_property("location")?;
    let origin = js_sys::Reflect::get(&location, &wasm_bindgen::JsValue::from_str("origin"))
        .ok()?
        .as_string()?;
    let (scheme, host) = if let Some(host) = origin.strip_prefix("https://") {
        ("wss", host)
    } else {
        ("ws", origin.strip_prefix("http://")?)
    };
    Some(format!("{scheme}://{host}{WEBSOCKET_PATH}"))
}

/// `navigator.onLine`, in a page or a worker (true when unknown).
pub(crate) fn browser_online() -> bool {
    global_property("navigator")
        .and_then(|navigator| {
            js_sys::Reflect::get(&navigator, &wasm_bindgen::JsValue::from_str("onLine")).ok()
        })
        .and_then(|online| online.as_bool())
        .unwrap_or(true)
}

fn global_property(name: &str) -> Option<wasm_bindgen::JsValue> {
    js_sys::Reflect::get(&js_sys::global(), &wasm_bindgen::JsValue::from_str(name))
        .ok()
        .filter(|value| value.is_object())
}

/// A connection to the relay that reconnects by itself until dropped.
pub struct RelayConnection {
    stopped: Rc<Cell<bool>>,
}

impl RelayConnection {
    /// Starts connecting to `url`; `on_state` hears every state change.
    pub fn start(url: String, on_state: impl Fn(ConnectionState) + 'static) -> Self {
        let stopped = Rc::new(Cell::new(false));
        let flag = stopped.clone();
        wasm_bindgen_futures::spawn_local(async move { run(url, flag, on_state).await });
        Self { stopped }
    }
}

impl Drop for RelayConnection {
    fn drop(&mut self) {
        self.stopped.set(true);
    }
}

async fn run(url: String, stopped: Rc<Cell<bool>>, on_state: impl Fn(ConnectionState)) {
    let mut backoff = Backoff::default();
    let mut last = None;
    let report = |state: ConnectionState, last: &mut Option<ConnectionState>| {
        if *last != Some(state) {
            *last = Some(state);
            on_state(state);
        }
    };
    report(ConnectionState::Connecting, &mut last);
    while !stopped.get() {
        if !browser_online() {
            report(ConnectionState::Offline, &mut last);
            while !browser_online() && !stopped.get() {
                TimeoutFuture::new(ONLINE_POLL_MS).await;
            }
            backoff.reset();
            continue;
        }
        let outcome = session(&url, &stopped, &mut backoff, &mut |s| report(s, &mut last)).await;
        if stopped.get() {
            break;
        }
        if !browser_online() {
            continue;
        }
        if outcome == Outcome::AnonymousTimeout {
            // Without an account there is nothing to authenticate: the relay
            // closes after its auth timeout, and we are still reachable.
            continue;
        }
        if outcome == Outcome::Dropped {
            // A link that worked and dropped: retry at once, then back off.
            backoff.reset();
        }
        let delay = backoff.next_delay_ms(js_sys::Math::random());
        report(
            ConnectionState::Reconnecting {
                attempt: backoff.attempt(),
                retry_in_ms: delay,
            },
            &mut last,
        );
        let mut waited = 0;
        while waited < delay && !stopped.get() {
            if !browser_online() {
                break;
            }
            TimeoutFuture::new(ONLINE_POLL_MS.min(delay - waited)).await;
            waited += ONLINE_POLL_MS;
        }
    }
}

/// How one WebSocket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// It never reached `Welcome`.
    Failed,
    /// It was up, then dropped.
    Dropped,
    /// The relay closed it because this page did not authenticate.
    AnonymousTimeout,
}

/// One WebSocket from open to close.
async fn session(
    url: &str,
    stopped: &Cell<bool>,
    backoff: &mut Backoff,
    report: &mut impl FnMut(ConnectionState),
) -> Outcome {
    let Ok(socket) = WebSocket::open(url) else {
        return Outcome::Failed;
    };
    let (mut sink, mut stream) = socket.split();
    let outcome = run_socket(&mut sink, &mut stream, stopped, backoff, report).await;
    // In the background: the indicator must not wait for the close event.
    wasm_bindgen_futures::spawn_local(crate::transport::close_and_wait(sink, stream));
    outcome
}

/// Hello, then frames until the link drops or the page stops it.
async fn run_socket(
    sink: &mut SplitSink<WebSocket, Message>,
    stream: &mut SplitStream<WebSocket>,
    stopped: &Cell<bool>,
    backoff: &mut Backoff,
    report: &mut impl FnMut(ConnectionState),
) -> Outcome {
    let hello = ClientFrame::Hello(Hello {
        wire_version: WIRE_VERSION,
        software: crate::SOFTWARE.into(),
    });
    if sink.send(Message::Bytes(hello.encode())).await.is_err() {
        return Outcome::Failed;
    }
    match select(stream.next(), TimeoutFuture::new(HELLO_TIMEOUT_MS)).await {
        Either::Left((Some(Ok(Message::Bytes(bytes))), _)) => match ServerFrame::decode(&bytes) {
            Ok(ServerFrame::Welcome(_)) => {}
            _ => return Outcome::Failed,
        },
        _ => return Outcome::Failed,
    }
    let mut outcome = Outcome::Dropped;
    backoff.reset();
    report(ConnectionState::Connected);
    let mut last_heard = js_sys::Date::now();
    let mut pinged = false;
    let mut ping = 0u64;
    // Wake up every ONLINE_POLL_MS to notice the browser going offline at once.
    while !stopped.get() && browser_online() {
        match select(stream.next(), TimeoutFuture::new(ONLINE_POLL_MS)).await {
            Either::Left((Some(Ok(frame)), _)) => {
                last_heard = js_sys::Date::now();
                pinged = false;
                if let Message::Bytes(bytes) = frame
                    && let Ok(ServerFrame::Error {
                        code: ErrorCode::AuthTimeout,
                        ..
                    }) = ServerFrame::decode(&bytes)
                {
                    outcome = Outcome::AnonymousTimeout;
                }
            }
            Either::Left((Some(Err(_)) | None, _)) => break,
            Either::Right(_) => {
                let silent_ms = js_sys::Date::now() - last_heard;
                if silent_ms >= f64::from(2 * KEEPALIVE_MS) {
                    break;
                }
                if silent_ms >= f64::from(KEEPALIVE_MS) && !pinged {
                    pinged = true;
                    ping = ping.wrapping_add(1);
                    if sink
                        .send(Message::Bytes(ClientFrame::Ping(ping).encode()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    }
    outcome
}
