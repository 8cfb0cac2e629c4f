//! Which handler a frame or a signal goes to, by the session's phase.

use estafette_wire::ClientFrame;

use crate::registry::Control;
use crate::session::close::End;
use crate::session::connection::Connection;
use crate::session::phase::Phase;
use crate::session::{control, delivery, handshake, requests};

/// Handles a frame in the session's current phase, moving it on.
pub async fn on_frame(conn: &Connection, phase: &mut Phase, frame: ClientFrame) -> Result<(), End> {
    match phase {
        Phase::AwaitingHello => {
            let challenge = handshake::hello(conn, frame)?;
            *phase = Phase::AwaitingAuth { challenge };
            Ok(())
        }
        Phase::AwaitingAuth { challenge } => {
            let challenge = *challenge;
            let Some(mut authed) = handshake::answer(conn, &challenge, frame).await? else {
                return Ok(());
            };
            handshake::enter(conn, &authed);
            let pumped = delivery::pump(conn, &mut authed).await;
            // Ready even if the first delivery failed: the session's end unregisters it.
            *phase = Phase::Ready(authed);
            pumped
        }
        Phase::Ready(authed) => requests::answer(conn, authed, frame).await,
    }
}

/// Acts on a signal from outside; only an authenticated session gets any.
pub async fn on_control(conn: &Connection, phase: &mut Phase, signal: Control) -> Result<(), End> {
    match phase {
        Phase::Ready(authed) => control::on_control(conn, authed, signal).await,
        Phase::AwaitingHello | Phase::AwaitingAuth { .. } => Ok(()),
    }
}
