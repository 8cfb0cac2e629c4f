//! A real WebSocket to the relay (tokio-tungstenite), optionally from a
//! chosen loopback source address and with chosen buffers.

use std::net::{Ipv4Addr, SocketAddr};

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::client::Client;
use crate::error::KitError;
use crate::link::{Incoming, Link};

/// A WebSocket over plain TCP.
pub type Ws = WebSocketStream<TcpStream>;

/// tungstenite's settings with `buffer` bytes to read and write.
pub fn ws_config(buffer: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(buffer)
        .write_buffer_size(buffer)
}

/// Opens `ws://addr/ws` from `from` (any port), `TCP_NODELAY`.
pub async fn open_ws(
    addr: SocketAddr,
    from: Ipv4Addr,
    config: WebSocketConfig,
) -> Result<Ws, KitError> {
    let socket = TcpSocket::new_v4().map_err(KitError::io("socket"))?;
    socket
        .set_reuseaddr(true)
        .map_err(KitError::io("SO_REUSEADDR"))?;
    socket
        .bind(SocketAddr::from((from, 0)))
        .map_err(KitError::io(format!("bind {from}")))?;
    let stream = socket
        .connect(addr)
        .await
        .map_err(KitError::io(format!("connect to {addr}")))?;
    stream
        .set_nodelay(true)
        .map_err(KitError::io("TCP_NODELAY"))?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}/ws"),
        stream,
        Some(config),
    )
    .await
    .map_err(|e| KitError::WebSocket(e.to_string()))?;
    Ok(ws)
}

/// A client on a new WebSocket to `addr` from 127.0.0.1.
pub async fn connect(addr: SocketAddr) -> Result<Client<WsLink>, KitError> {
    let ws = open_ws(addr, Ipv4Addr::LOCALHOST, WebSocketConfig::default()).await?;
    Ok(Client::new(WsLink(ws)))
}

/// A [`Link`] over a real WebSocket.
pub struct WsLink(pub Ws);

impl Link for WsLink {
    async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<(), KitError> {
        self.0
            .send(Message::Binary(bytes.into()))
            .await
            .map_err(|e| KitError::WebSocket(e.to_string()))
    }

    async fn receive(&mut self) -> Incoming {
        loop {
            match self.0.next().await {
                None | Some(Err(_)) => return Incoming::Closed(None),
                Some(Ok(Message::Close(frame))) => {
                    return Incoming::Closed(frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(Message::Binary(bytes))) => return Incoming::Binary(bytes.to_vec()),
                Some(Ok(_)) => {}
            }
        }
    }
}
