use futures::future::select;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};
use gloo_timers::future::TimeoutFuture;

use super::{Link, LinkError, Transport};

/// How long a closing socket is kept for its close event.
const CLOSE_WAIT_MS: u32 = 60_000;

/// The browser's WebSocket (gloo-net).
#[derive(Debug, Default, Clone, Copy)]
pub struct BrowserTransport;

/// A browser WebSocket link.
pub struct BrowserLink {
    halves: Option<(SplitSink<WebSocket, Message>, SplitStream<WebSocket>)>,
}

impl BrowserLink {
    fn halves(
        &mut self,
    ) -> Result<&mut (SplitSink<WebSocket, Message>, SplitStream<WebSocket>), LinkError> {
        self.halves.as_mut().ok_or(LinkError::Closed(None))
    }
}

impl Transport for BrowserTransport {
    type Link = BrowserLink;

    async fn connect(&self, url: &str) -> Result<BrowserLink, LinkError> {
        let socket = WebSocket::open(url).map_err(|e| LinkError::Connect(e.to_string()))?;
        let (sink, stream) = socket.split();
        Ok(BrowserLink {
            halves: Some((sink, stream)),
        })
    }
}

impl Link for BrowserLink {
    async fn send(&mut self, frame: Vec<u8>) -> Result<(), LinkError> {
        self.halves()?
            .0
            .send(Message::Bytes(frame))
            .await
            .map_err(|e| LinkError::Send(e.to_string()))
    }

    async fn recv(&mut self) -> Result<Vec<u8>, LinkError> {
        let stream = &mut self.halves()?.1;
        loop {
            match stream.next().await {
                None => return Err(LinkError::Closed(None)),
                Some(Ok(Message::Bytes(bytes))) => return Ok(bytes),
                Some(Ok(Message::Text(_))) => continue,
                Some(Err(WebSocketError::ConnectionClose(close))) => {
                    return Err(LinkError::Closed(Some(close.code)));
                }
                Some(Err(_)) => return Err(LinkError::Closed(None)),
            }
        }
    }
}

impl Drop for BrowserLink {
    fn drop(&mut self) {
        if let Some((sink, stream)) = self.halves.take() {
            wasm_bindgen_futures::spawn_local(close_and_wait(sink, stream));
        }
    }
}

/// Closes a socket and keeps it until its close event arrives (60 s at most).
/// gloo-net's `WebSocket` leaves its `close` listener registered when
/// dropped, so a socket dropped while open later calls a freed closure
/// ("closure invoked … after being dropped").
pub(crate) async fn close_and_wait(
    mut sink: SplitSink<WebSocket, Message>,
    mut stream: SplitStream<WebSocket>,
) {
    let _ = sink.close().await;
    let drained = async { while stream.next().await.is_some() {} };
    let _ = select(std::pin::pin!(drained), TimeoutFuture::new(CLOSE_WAIT_MS)).await;
    drop((sink, stream));
}
