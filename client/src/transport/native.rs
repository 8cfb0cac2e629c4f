use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{Link, LinkError, Transport};

/// tokio-tungstenite WebSockets (no TLS: tests and tools on loopback).
#[derive(Debug, Default, Clone, Copy)]
pub struct NativeTransport;

/// A native WebSocket link.
pub struct NativeLink {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Transport for NativeTransport {
    type Link = NativeLink;

    async fn connect(&self, url: &str) -> Result<NativeLink, LinkError> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| LinkError::Connect(e.to_string()))?;
        Ok(NativeLink { ws })
    }
}

impl Link for NativeLink {
    async fn send(&mut self, frame: Vec<u8>) -> Result<(), LinkError> {
        self.ws
            .send(Message::Binary(frame.into()))
            .await
            .map_err(|e| LinkError::Send(e.to_string()))
    }

    async fn recv(&mut self) -> Result<Vec<u8>, LinkError> {
        loop {
            match self.ws.next().await {
                None | Some(Err(_)) => return Err(LinkError::Closed(None)),
                Some(Ok(Message::Binary(bytes))) => return Ok(bytes.to_vec()),
                Some(Ok(Message::Close(frame))) => {
                    return Err(LinkError::Closed(frame.map(|f| u16::from(f.code))));
                }
                Some(Ok(_)) => continue,
            }
        }
    }
}
