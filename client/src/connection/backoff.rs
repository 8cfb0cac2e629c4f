/// Jittered exponential backoff between reconnection attempts.
///
/// "Full jitter": the n-th delay is uniform in `[base * 2^n / 2, base * 2^n]`,
/// capped, so thousands of clients cut off by a relay restart do not all come
/// back in the same millisecond, yet each retries within a bounded time.
#[derive(Debug, Clone)]
pub struct Backoff {
    base_ms: u32,
    max_ms: u32,
    attempt: u32,
}

impl Backoff {
    /// A backoff starting near `base_ms` and never exceeding `max_ms`.
    pub fn new(base_ms: u32, max_ms: u32) -> Self {
        Self {
            base_ms: base_ms.max(1),
            max_ms: max_ms.max(base_ms.max(1)),
            attempt: 0,
        }
    }

    /// Failed attempts since the last [`Backoff::reset`].
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Delay before the next attempt; `random` is uniform in `[0, 1)`.
    pub fn next_delay_ms(&mut self, random: f64) -> u32 {
        let ceiling = u64::from(self.base_ms)
            .saturating_mul(1u64 << self.attempt.min(20))
            .min(u64::from(self.max_ms));
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let jitter = (random.clamp(0.0, 1.0) * (ceiling - half) as f64) as u64;
        u32::try_from(half + jitter).unwrap_or(self.max_ms)
    }

    /// Called once a connection is established.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

impl Default for Backoff {
    /// 500 ms doubling up to 15 s.
    fn default() -> Self {
        Self::new(500, 15_000)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn delays_double_then_cap() {
        let mut backoff = Backoff::new(500, 15_000);
        let highs: Vec<u32> = (0..8).map(|_| backoff.next_delay_ms(0.999_999)).collect();
        assert_eq!(highs, [499, 999, 1999, 3999, 7999, 14_999, 14_999, 14_999]);
        backoff.reset();
        assert_eq!(backoff.next_delay_ms(0.0), 250);
    }

    proptest! {
        #[test]
        fn delay_stays_within_bounds(randoms in proptest::collection::vec(0.0f64..1.0, 1..64)) {
            let mut backoff = Backoff::default();
            for (n, r) in randoms.into_iter().enumerate() {
                let ceiling = (500u64 << n.min(20)).min(15_000) as u32;
                let delay = backoff.next_delay_ms(r);
                prop_assert!(delay >= ceiling / 2 && delay <= ceiling, "attempt {n}: {delay} outside [{}, {ceiling}]", ceiling / 2);
            }
        }
    }
}
