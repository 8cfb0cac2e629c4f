//! Acknowledged deliveries, deleted in batches.
//!
//! Sessions hand every `Ack` here instead of giving the store's writer one
//! job each: one task takes whatever accumulated while the previous batch was
//! being committed and deletes it in one job. Under load a commit then
//! carries thousands of acks in one savepoint, and sends do not queue behind
//! them. Delivery is at-least-once, so an ack lost in a crash is one
//! redelivery; nothing waits for an ack to be durable.

use std::sync::{Arc, Mutex};

use estafette_wire::DeviceId;
use tokio::sync::{Notify, watch};

use crate::metrics::Metrics;
use crate::shutdown::stopped;
use crate::store::Store;

/// Acks waiting for the next batch.
#[derive(Default)]
pub struct Acks {
    waiting: Mutex<Vec<(DeviceId, u64)>>,
    notify: Notify,
}

impl Acks {
    fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<(DeviceId, u64)>> {
        // A panic while holding the list cannot leave it half-updated.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues the deletion of `device`'s copy `seq`. Sessions only pass
    /// deliveries they have in flight, which bounds what can wait here.
    pub fn push(&self, device: DeviceId, seq: u64) {
        self.waiting().push((device, seq));
        self.notify.notify_one();
    }

    /// Deletes batches until the relay stops.
    pub async fn run(
        self: Arc<Self>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                () = self.notify.notified() => {}
                () = stopped(&mut shutdown) => return,
            }
            let batch = std::mem::take(&mut *self.waiting());
            if batch.is_empty() {
                continue;
            }
            match store.ack_all(batch).await {
                Ok(deleted) => {
                    metrics
                        .queue_depth
                        .dec_by(i64::try_from(deleted).unwrap_or(i64::MAX));
                }
                Err(error) => tracing::warn!(%error, "cannot delete acknowledged copies"),
            }
        }
    }
}
