use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};

use super::{Link, LinkError, Transport};

/// The browser's WebSocket (gloo-net).
#[derive(Debug, Default, Clone, Copy)]
pub struct BrowserTransport;

/// A browser WebSocket link.
pub struct BrowserLink {
    sink: SplitSink<WebSocket, Message>,
    stream: SplitStream<WebSocket>,
}

impl Transport for BrowserTransport {
    type Link = BrowserLink;

    async fn connect(&self, url: &str) -> Result<BrowserLink, LinkError> {
        let socket = WebSocket::open(url).map_err(|e| LinkError::Connect(e.to_string()))?;
        let (sink, stream) = socket.split();
        Ok(BrowserLink { sink, stream })
    }
}

impl Link for BrowserLink {
    async fn send(&mut self, frame: Vec<u8>) -> Result<(), LinkError> {
        self.sink
            .send(Message::Bytes(frame))
            .await
            .map_err(|e| LinkError::Send(e.to_string()))
    }

    async fn recv(&mut self) -> Result<Vec<u8>, LinkError> {
        loop {
            match self.stream.next().await {
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
        // Closing is best effort: the page may be going away.
        let _ = futures::FutureExt::now_or_never(self.sink.close());
    }
}
