//! Which device is connected to this relay, and how to reach its session.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use estafette_wire::DeviceId;
use tokio::sync::mpsc;

use crate::store::PreKeyStock;

/// What the relay tells a live session from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// New copies may be waiting in the queue.
    Wake,
    /// Another connection authenticated as this device.
    Replaced,
    /// The account was revoked.
    Revoked,
    /// The device's one-time prekeys run low.
    PreKeysLow(PreKeyStock),
}

/// Capacity of a session's control channel; wake-ups coalesce when it is full.
pub const CONTROL_QUEUE: usize = 16;

struct Entry {
    connection: u64,
    tx: mpsc::Sender<Control>,
}

/// Connected devices, at most one session each.
#[derive(Default)]
pub struct Registry {
    devices: Mutex<HashMap<DeviceId, Entry>>,
    next: AtomicU64,
}

impl Registry {
    /// A fresh connection number.
    pub fn connection_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<DeviceId, Entry>> {
        // A panic while holding the map cannot leave it half-updated.
        self.devices
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a session for `device`; the previous one is told it was replaced.
    pub fn insert(&self, device: DeviceId, connection: u64, tx: mpsc::Sender<Control>) {
        let previous = self.lock().insert(device, Entry { connection, tx });
        if let Some(previous) = previous {
            // Must arrive even when its queue is full: send from a task.
            tokio::spawn(async move {
                let _ = previous.tx.send(Control::Replaced).await;
            });
        }
    }

    /// Removes `device` if this connection still holds it.
    pub fn remove(&self, device: DeviceId, connection: u64) {
        let mut map = self.lock();
        if map.get(&device).is_some_and(|e| e.connection == connection) {
            map.remove(&device);
        }
    }

    /// Tells a device's session something, if it is connected here.
    pub fn notify(&self, device: DeviceId, control: Control) {
        let tx = self.lock().get(&device).map(|e| e.tx.clone());
        if let Some(tx) = tx {
            match control {
                // A full queue already holds a reason to look at the queue.
                Control::Wake | Control::PreKeysLow(_) => {
                    let _ = tx.try_send(control);
                }
                Control::Replaced | Control::Revoked => {
                    tokio::spawn(async move {
                        let _ = tx.send(control).await;
                    });
                }
            }
        }
    }

    /// Devices connected now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no device is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
