//! A device's conversation with the relay, over any [`Link`]: frames in and
//! out, `Hello`, and signing in. Every method here returns an error; the
//! assertions tests use are in `expect.rs`.

use std::time::Duration;

use estafette_wire::{ClientFrame, PreKeyUpload, Register, ServerFrame, Welcome};

use crate::error::KitError;
use crate::frames::hello;
use crate::identity::DeviceKeys;
use crate::link::{Incoming, Link};

/// What the relay said last.
#[derive(Debug)]
pub enum Heard {
    /// A frame.
    Frame(ServerFrame),
    /// The connection closed, with the relay's close code if it sent one.
    Closed(Option<u16>),
}

/// How a device signs in.
pub enum SignIn {
    /// A new device, with an invitation token and its first prekeys.
    Register {
        /// The invitation token.
        token: String,
        /// A signed prekey and a last-resort ML-KEM key at least.
        prekeys: Box<PreKeyUpload>,
    },
    /// A registered device.
    Authenticate,
}

/// A client of the relay over `L`.
pub struct Client<L> {
    /// The connection.
    pub link: L,
    /// The relay's `Welcome`, once `Hello` was answered.
    pub welcome: Option<Welcome>,
}

impl<L: Link> Client<L> {
    /// A client on `link`, before `Hello`.
    pub fn new(link: L) -> Self {
        Self {
            link,
            welcome: None,
        }
    }

    /// The connection, to use it without the client.
    pub fn into_link(self) -> L {
        self.link
    }

    /// Sends a frame.
    pub async fn try_send(&mut self, frame: &ClientFrame) -> Result<(), KitError> {
        self.link.send_binary(frame.encode()).await
    }

    /// What comes next within `timeout`: a frame or the close.
    pub async fn hear(&mut self, timeout: Duration) -> Result<Heard, KitError> {
        match tokio::time::timeout(timeout, self.link.receive()).await {
            Err(_) => Err(KitError::Timeout(timeout)),
            Ok(Incoming::Closed(code)) => Ok(Heard::Closed(code)),
            Ok(Incoming::Binary(bytes)) => ServerFrame::decode(&bytes)
                .map(Heard::Frame)
                .map_err(KitError::Undecodable),
        }
    }

    /// The next frame within `timeout`; the close is an error.
    pub async fn next_frame(&mut self, timeout: Duration) -> Result<ServerFrame, KitError> {
        match self.hear(timeout).await? {
            Heard::Frame(frame) => Ok(frame),
            Heard::Closed(code) => Err(KitError::Closed(code)),
        }
    }

    /// Sends `Hello` (as `software`) and waits for `Welcome`.
    pub async fn try_hello(&mut self, software: &str) -> Result<&Welcome, KitError> {
        self.try_send(&hello(software)).await?;
        match self.next_frame(ANSWER_TIME).await? {
            ServerFrame::Welcome(welcome) => Ok(self.welcome.insert(welcome)),
            other => Err(unexpected("Welcome", &other)),
        }
    }

    /// Answers the `Welcome`'s challenge as `keys` (after [`Self::try_hello`]);
    /// the relay's reply.
    pub async fn sign_in(
        &mut self,
        keys: &DeviceKeys,
        how: SignIn,
    ) -> Result<ServerFrame, KitError> {
        let welcome = self.welcome.as_ref().ok_or(KitError::Unexpected {
            expected: "Welcome before signing in",
            got: "nothing".into(),
        })?;
        let answer = keys.answer(welcome.challenge, &welcome.origin);
        let frame = match how {
            SignIn::Register { token, prekeys } => ClientFrame::Register(Box::new(Register {
                token,
                answer,
                prekeys: *prekeys,
            })),
            SignIn::Authenticate => ClientFrame::Authenticate(answer),
        };
        self.try_send(&frame).await?;
        self.next_frame(ANSWER_TIME).await
    }

    /// Waits for `Authenticated` (a reply of [`Self::sign_in`] may be it),
    /// passing `PreKeysLow` and `Pong`.
    pub async fn authenticated(&mut self, first: ServerFrame) -> Result<(), KitError> {
        let mut frame = first;
        // Bounded: at most a PreKeysLow or two come before.
        for _ in 0..8 {
            match frame {
                ServerFrame::Authenticated { .. } => return Ok(()),
                ServerFrame::PreKeysLow { .. } | ServerFrame::Pong(_) => {}
                other => return Err(unexpected("Authenticated", &other)),
            }
            frame = self.next_frame(ANSWER_TIME).await?;
        }
        Err(KitError::Unexpected {
            expected: "Authenticated",
            got: "only PreKeysLow and Pong".into(),
        })
    }
}

/// How long the relay may take to answer a request.
pub const ANSWER_TIME: Duration = Duration::from_secs(30);

/// The error for `got` where `expected` should have come.
pub fn unexpected(expected: &'static str, got: &ServerFrame) -> KitError {
    let got = match got {
        ServerFrame::Error { code, detail, .. } => format!("{}: {detail}", code.name()),
        other => other.kind().to_owned(),
    };
    KitError::Unexpected { expected, got }
}
