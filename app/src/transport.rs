//! Interim browser transport for joining, until `estafette_client::transport::
//! BrowserTransport` is committed; same behaviour (gloo-net WebSocket).

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};

use estafette_client::transport::{Link, LinkError, Transport};

/// The browser's WebSocket.
#[derive(Debug, Default, Clone, Copy)]
pub struct PageTransport;

/// A browser WebSocket link.
pub struct PageLink {
    sink: SplitSink<WebSocket, Message>,
    stream: SplitStream<WebSocket>,
}

impl Transport for PageTransport {
    type Link = PageLink;

    async fn connect(&self, url: &str) -> Result<PageLink, LinkError> {
        let socket = WebSocket::open(url).map_err(|e| LinkError::Connect(e.to_string()))?;
        let (sink, stream) = socket.split();
        Ok(PageLink { sink, stream })
    }
}

impl Link for PageLink {
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

impl Drop for PageLink {
    fn drop(&mut self) {
        // Closing is best effort: the page may be going away.
        let _ = futures::FutureExt::now_or_never(self.sink.close());
    }
}
