//! Which device is connected to this relay, and how to reach its session.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use estafette_wire::DeviceId;
use tokio::sync::Notify;

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

/// What is pending for one live session. Signals of a kind coalesce (a
/// flag, not a queue), so nothing outside can grow a session's memory, and
/// an idle session holds no channel buffer.
#[derive(Default)]
pub struct Signals {
    wake: AtomicBool,
    replaced: AtomicBool,
    revoked: AtomicBool,
    prekeys_low: Mutex<Option<PreKeyStock>>,
    notify: Notify,
}

impl Signals {
    /// Records `control` and wakes the session.
    pub fn raise(&self, control: Control) {
        match control {
            Control::Wake => self.wake.store(true, Ordering::Release),
            Control::Replaced => self.replaced.store(true, Ordering::Release),
            Control::Revoked => self.revoked.store(true, Ordering::Release),
            Control::PreKeysLow(stock) => {
                *self
                    .prekeys_low
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(stock);
            }
        }
        // Stores a permit if the session is not waiting: no wake-up is lost.
        self.notify.notify_one();
    }

    /// The next thing to tell the session, most serious first.
    pub async fn next(&self) -> Control {
        loop {
            if let Some(control) = self.take() {
                return control;
            }
            self.notify.notified().await;
        }
    }

    fn take(&self) -> Option<Control> {
        if self.revoked.swap(false, Ordering::AcqRel) {
            return Some(Control::Revoked);
        }
        if self.replaced.swap(false, Ordering::AcqRel) {
            return Some(Control::Replaced);
        }
        let low = self
            .prekeys_low
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(stock) = low {
            return Some(Control::PreKeysLow(stock));
        }
        self.wake
            .swap(false, Ordering::AcqRel)
            .then_some(Control::Wake)
    }
}

struct Entry {
    connection: u64,
    signals: Arc<Signals>,
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
    pub fn insert(&self, device: DeviceId, connection: u64, signals: Arc<Signals>) {
        let previous = self.lock().insert(
            device,
            Entry {
                connection,
                signals,
            },
        );
        if let Some(previous) = previous {
            previous.signals.raise(Control::Replaced);
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
        if let Some(entry) = self.lock().get(&device) {
            entry.signals.raise(control);
        }
    }

    /// Devices connected now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn signals_coalesce_and_come_most_serious_first() {
        let signals = Signals::default();
        for _ in 0..1000 {
            signals.raise(Control::Wake);
        }
        signals.raise(Control::PreKeysLow(PreKeyStock {
            one_time: 3,
            kem_one_time: 4,
        }));
        signals.raise(Control::Revoked);
        assert_eq!(signals.next().await, Control::Revoked);
        assert!(matches!(signals.next().await, Control::PreKeysLow(s) if s.one_time == 3));
        assert_eq!(signals.next().await, Control::Wake);
        // A thousand wake-ups were one; the next waits for a new signal.
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), signals.next());
        assert!(waiting.await.is_err());
    }

    #[tokio::test]
    async fn a_replaced_session_hears_it() {
        let registry = Registry::default();
        let device = DeviceId([7; 16]);
        let first = Arc::new(Signals::default());
        registry.insert(device, 1, first.clone());
        registry.insert(device, 2, Arc::new(Signals::default()));
        assert_eq!(first.next().await, Control::Replaced);
        registry.remove(device, 1);
        assert_eq!(registry.len(), 1, "the newer session stays registered");
    }
}
