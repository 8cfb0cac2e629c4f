//! The relay served for real on port 0, spoken to over TCP and WebSocket.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::Duration;

use estafette_relay::{CONTENT_SECURITY_POLICY, Relay, Settings};
use estafette_wire::{ClientFrame, ErrorCode, Hello, ServerFrame, WIRE_VERSION};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn get(addr: SocketAddr, path: &str, extra: &str) -> Response {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>Estafette</title>",
    )
    .unwrap();
    std::fs::write(dir.path().join("app-0123456789abcdef.js"), "export {}").unwrap();
    std::fs::write(
        dir.path().join("app-0123456789abcdef.js.br"),
        [0x0b, 0x04, 0x80, 0x65],
    )
    .unwrap();
    dir
}

async fn start(site: Option<&std::path::Path>) -> (Relay, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut settings = Settings::ephemeral(data.path().to_path_buf());
    settings.site_dir = site.map(std::path::Path::to_path_buf);
    (Relay::start(settings).await.unwrap(), data)
}

#[tokio::test]
async fn serves_the_site_with_security_headers() {
    let site = site();
    let (relay, _data) = start(Some(site.path())).await;
    let addr = relay.local_addr();
    let page = get(addr, "/", "").await;
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("<title>Estafette</title>"));
    assert_eq!(
        page.header("content-security-policy"),
        Some(CONTENT_SECURITY_POLICY)
    );
    for directive in [
        "frame-ancestors 'none'",
        "object-src 'none'",
        "connect-src 'self'",
        "worker-src 'self' blob:",
    ] {
        assert!(CONTENT_SECURITY_POLICY.contains(directive), "{directive}");
    }
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));

    let asset = get(addr, "/app-0123456789abcdef.js", "Accept-Encoding: br\r\n").await;
    assert_eq!(asset.status, 200);
    assert_eq!(asset.header("content-encoding"), Some("br"));
    assert_eq!(
        asset.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        asset.header("content-security-policy"),
        Some(CONTENT_SECURITY_POLICY)
    );

    let health = get(addr, "/healthz", "").await;
    assert_eq!(
        (health.status, health.body.as_slice()),
        (200, b"ok\n".as_slice())
    );
    assert_eq!(health.header("x-content-type-options"), Some("nosniff"));
    relay.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_missing_site_is_a_clear_error() {
    let data = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let mut settings = Settings::ephemeral(data.path().to_path_buf());
    settings.site_dir = Some(empty.path().to_path_buf());
    let error = Relay::start(settings).await.err().unwrap();
    assert!(error.to_string().contains("has no index.html"), "{error}");
}

#[tokio::test]
async fn hello_is_welcomed_and_counted_in_metrics() {
    let (relay, _data) = start(None).await;
    let addr = relay.local_addr();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let hello = ClientFrame::Hello(Hello {
        wire_version: WIRE_VERSION,
        software: "test".into(),
    });
    ws.send(Message::Binary(hello.encode().into()))
        .await
        .unwrap();
    let Some(Ok(Message::Binary(reply))) = ws.next().await else {
        panic!("no reply")
    };
    assert!(
        matches!(ServerFrame::decode(&reply).unwrap(), ServerFrame::Welcome(w) if w.wire_version == WIRE_VERSION)
    );

    let metrics = String::from_utf8(get(addr, "/metrics", "").await.body).unwrap();
    assert!(
        metrics.contains("estafette_relay_connections_open 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"estafette_relay_frames_total{direction="in",kind="hello"} 1"#),
        "{metrics}"
    );

    // Shutdown: the client hears why, then a close frame.
    let stopping = tokio::spawn(relay.shutdown(Duration::from_secs(2)));
    let Some(Ok(Message::Binary(reason))) = ws.next().await else {
        panic!("no shutdown frame")
    };
    assert!(matches!(
        ServerFrame::decode(&reason).unwrap(),
        ServerFrame::Error {
            code: ErrorCode::ShuttingDown,
            ..
        }
    ));
    let Some(Ok(Message::Close(Some(close)))) = ws.next().await else {
        panic!("no close")
    };
    assert_eq!(u16::from(close.code), ErrorCode::ShuttingDown.close_code());
    stopping.await.unwrap();
}

#[tokio::test]
async fn oversized_and_cross_origin_connections_are_refused() {
    let (relay, _data) = start(None).await;
    let addr = relay.local_addr();

    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", "https://evil.example".parse().unwrap());
    assert!(
        tokio_tungstenite::connect_async(request).await.is_err(),
        "cross-origin upgrade accepted"
    );

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let huge = vec![0u8; estafette_wire::limits::MAX_FRAME_BYTES + 1];
    let _ = ws.send(Message::Binary(huge.into())).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "an oversized frame did not end the connection"
    );
    // The relay is still healthy afterwards.
    assert_eq!(get(addr, "/healthz", "").await.status, 200);
    relay.shutdown(Duration::from_secs(2)).await;
}
