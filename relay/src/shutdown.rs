//! The relay's stop signal, watched by every session and background task.

use tokio::sync::watch;

/// Resolves once the relay is shutting down (or its stop sender is gone).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // Drop the borrow guard here: it must not live across an await.
    let _ = shutdown.wait_for(|stopping| *stopping).await.map(|_| ());
}
