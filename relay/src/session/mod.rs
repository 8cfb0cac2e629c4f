//! One client's WebSocket session. Generic over `Sink`/`Stream` of
//! WebSocket messages, so tests drive it with channels (axum
//! `examples/testing-websockets`).
//!
//! Phases: `Hello` → `Welcome` (with a challenge) → `Register` or
//! `Authenticate` within [`crate::SessionConfig::auth_timeout`] →
//! authenticated requests and the delivery of the device's queue.
//!
//! One job per module, each using only those below it: `run` (the loop)
//! → `dispatch` (by phase) → `handshake`, `requests`, `control` →
//! `sending` (the sends pipeline), `delivery` (the queue) → `connection`,
//! `phase`, `limits`, `outbound` → `writer`, `close`.

mod close;
mod connection;
mod control;
mod delivery;
mod dispatch;
mod handshake;
mod limits;
mod outbound;
mod phase;
mod requests;
mod run;
mod sending;
mod writer;

pub use handshake::SOFTWARE;
pub(crate) use run::{SessionContext, run};

/// WebSocket close codes that are not the 4000 + `ErrorCode` of a fatal error.
pub mod close_code {
    pub use super::close::{GOING_AWAY, IDLE, TOO_SLOW};
}
