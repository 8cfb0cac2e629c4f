use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Runtime;

/// Tokio timers, always online (tests and tools).
#[derive(Debug, Default, Clone, Copy)]
pub struct NativeRuntime;

impl Runtime for NativeRuntime {
    async fn sleep(&self, ms: u32) {
        tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
    }

    fn random(&self) -> f64 {
        let mut bytes = [0u8; 8];
        match getrandom::fill(&mut bytes) {
            Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
            Err(_) => 0.5,
        }
    }

    fn online(&self) -> bool {
        true
    }

    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default()
    }
}
