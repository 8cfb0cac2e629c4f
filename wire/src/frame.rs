use minicbor::{Decode, Encode};

use crate::WireError;
use crate::limits::{MAX_FRAME_BYTES, MAX_TEXT_BYTES};

/// First frame a client sends once its WebSocket is open.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Hello {
    /// [`crate::WIRE_VERSION`] of the client.
    #[n(0)]
    pub wire_version: u16,
    /// Client software and version, for logs and metrics (e.g. `estafette-web/0.1.0`).
    #[n(1)]
    pub software: String,
}

/// The relay's answer to a [`Hello`] it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Welcome {
    /// [`crate::WIRE_VERSION`] the relay will speak on this connection.
    #[n(0)]
    pub wire_version: u16,
    /// Relay software and version.
    #[n(1)]
    pub software: String,
}

/// Machine-readable reason carried by [`ServerFrame::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(index_only)]
pub enum ErrorCode {
    /// The frame could not be decoded or exceeded a limit.
    #[n(1)]
    MalformedFrame,
    /// The client's wire version is not spoken by this relay.
    #[n(2)]
    UnsupportedVersion,
    /// The frame is valid but not expected in the connection's current state.
    #[n(3)]
    UnexpectedFrame,
    /// The relay is shutting down; reconnect later.
    #[n(4)]
    ShuttingDown,
}

/// Frames sent by a client.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum ClientFrame {
    /// Opens the conversation with the relay.
    #[n(0)]
    Hello(#[n(0)] Hello),
    /// Application-level keep-alive; answered by [`ServerFrame::Pong`].
    #[n(1)]
    Ping(#[n(0)] u64),
}

/// Frames sent by the relay.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum ServerFrame {
    /// Accepts a [`ClientFrame::Hello`].
    #[n(0)]
    Welcome(#[n(0)] Welcome),
    /// Answers [`ClientFrame::Ping`] with the same value.
    #[n(1)]
    Pong(#[n(0)] u64),
    /// Something went wrong; the relay closes the connection after fatal errors.
    #[n(2)]
    Error {
        /// What went wrong.
        #[n(0)]
        code: ErrorCode,
        /// A short English explanation for logs; never shown to users as is.
        #[n(1)]
        detail: String,
    },
}

fn check_text(text: &str) -> Result<(), WireError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(WireError::TextTooLong {
            size: text.len(),
            limit: MAX_TEXT_BYTES,
        });
    }
    Ok(())
}

fn encode<T: Encode<()>>(value: &T) -> Vec<u8> {
    // Writing into a Vec cannot fail: its error type is Infallible.
    let mut out = Vec::new();
    match minicbor::encode(value, &mut out) {
        Ok(()) | Err(_) => out,
    }
}

fn decode<'b, T: Decode<'b, ()>>(bytes: &'b [u8]) -> Result<T, WireError> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(WireError::FrameTooLarge {
            size: bytes.len(),
            limit: MAX_FRAME_BYTES,
        });
    }
    let mut decoder = minicbor::Decoder::new(bytes);
    let value = decoder
        .decode::<T>()
        .map_err(|e| WireError::Malformed(e.to_string()))?;
    let rest = bytes.len().saturating_sub(decoder.position());
    if rest != 0 {
        return Err(WireError::TrailingBytes(rest));
    }
    Ok(value)
}

impl ClientFrame {
    /// Encodes the frame as CBOR.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes one frame, enforcing every limit.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let frame: Self = decode(bytes)?;
        match &frame {
            Self::Hello(hello) => check_text(&hello.software)?,
            Self::Ping(_) => {}
        }
        Ok(frame)
    }

    /// Short name of the frame type, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Hello(_) => "hello",
            Self::Ping(_) => "ping",
        }
    }
}

impl ServerFrame {
    /// Encodes the frame as CBOR.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes one frame, enforcing every limit.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let frame: Self = decode(bytes)?;
        match &frame {
            Self::Welcome(welcome) => check_text(&welcome.software)?,
            Self::Error { detail, .. } => check_text(detail)?,
            Self::Pong(_) => {}
        }
        Ok(frame)
    }

    /// Short name of the frame type, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Welcome(_) => "welcome",
            Self::Pong(_) => "pong",
            Self::Error { .. } => "error",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hello_has_a_stable_encoding() {
        // Pinned bytes: a change here breaks every deployed client.
        let frame = ClientFrame::Hello(Hello {
            wire_version: 1,
            software: "e/1".into(),
        });
        let bytes = frame.encode();
        assert_eq!(
            bytes,
            [0x82, 0x00, 0x81, 0x82, 0x01, 0x63, b'e', b'/', b'1'],
            "got {bytes:02x?}"
        );
        assert_eq!(ClientFrame::decode(&bytes).unwrap(), frame);
    }

    #[test]
    fn oversized_frames_are_refused_before_decoding() {
        let bytes = vec![0u8; MAX_FRAME_BYTES + 1];
        assert_eq!(
            ClientFrame::decode(&bytes),
            Err(WireError::FrameTooLarge {
                size: MAX_FRAME_BYTES + 1,
                limit: MAX_FRAME_BYTES
            })
        );
    }

    #[test]
    fn long_text_is_refused() {
        let frame = ClientFrame::Hello(Hello {
            wire_version: 1,
            software: "x".repeat(MAX_TEXT_BYTES + 1),
        });
        assert!(matches!(
            ClientFrame::decode(&frame.encode()),
            Err(WireError::TextTooLong { .. })
        ));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = ClientFrame::Ping(7).encode();
        bytes.push(0);
        assert_eq!(
            ClientFrame::decode(&bytes),
            Err(WireError::TrailingBytes(1))
        );
    }

    #[test]
    fn truncated_frames_are_refused() {
        let bytes = ServerFrame::Welcome(Welcome {
            wire_version: 1,
            software: "relay".into(),
        })
        .encode();
        for cut in 0..bytes.len() {
            assert!(
                ServerFrame::decode(&bytes[..cut]).is_err(),
                "prefix of {cut} bytes accepted"
            );
        }
    }

    proptest! {
        #[test]
        fn client_frames_round_trip(version: u16, software in "[ -~]{0,64}", ping: u64) {
            for frame in [ClientFrame::Hello(Hello { wire_version: version, software: software.clone() }), ClientFrame::Ping(ping)] {
                prop_assert_eq!(ClientFrame::decode(&frame.encode()).unwrap(), frame);
            }
        }

        #[test]
        fn server_frames_round_trip(version: u16, text in "[ -~]{0,64}", pong: u64) {
            for frame in [
                ServerFrame::Welcome(Welcome { wire_version: version, software: text.clone() }),
                ServerFrame::Pong(pong),
                ServerFrame::Error { code: ErrorCode::UnsupportedVersion, detail: text.clone() },
            ] {
                prop_assert_eq!(ServerFrame::decode(&frame.encode()).unwrap(), frame);
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = ClientFrame::decode(&bytes);
            let _ = ServerFrame::decode(&bytes);
        }
    }
}
