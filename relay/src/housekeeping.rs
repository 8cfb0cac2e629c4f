//! The relay's periodic work: closing revoked accounts' sockets within a
//! second, expiring old copies and refreshing the storage gauges every minute.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::now_ms;
use crate::registry::Control;
use crate::shutdown::stopped;
use crate::state::Shared;

/// Runs until the relay stops.
pub async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut revoked_since = now_ms();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut ticks = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stopped(&mut shutdown) => return,
        }
        ticks += 1;
        let now = now_ms();
        match shared
            .store
            .revoked_devices_since(revoked_since.saturating_sub(1_000))
            .await
        {
            Ok(devices) => {
                for device in devices {
                    shared.registry.notify(device, Control::Revoked);
                }
                revoked_since = now;
            }
            Err(error) => tracing::warn!(%error, "cannot read revocations"),
        }
        if ticks.is_multiple_of(120) {
            expire(&shared, now).await;
        }
    }
}

async fn expire(shared: &Shared, now: u64) {
    match shared.store.expire(now).await {
        Ok(0) => {}
        Ok(expired) => tracing::info!(expired, "expired queued copies"),
        Err(error) => tracing::warn!(%error, "cannot expire copies"),
    }
    if let Ok(total) = shared.store.queued_total().await {
        shared
            .metrics
            .queue_depth
            .set(i64::try_from(total).unwrap_or(i64::MAX));
    }
    if let Ok(total) = shared.store.payloads_total().await {
        shared
            .metrics
            .payloads_stored
            .set(i64::try_from(total).unwrap_or(i64::MAX));
    }
}
