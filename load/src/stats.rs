//! Latency statistics: nearest-rank percentiles of microsecond samples.

/// Latency percentiles of a set of samples, in ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    /// Samples.
    pub count: usize,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
}

/// Percentiles in ms of samples in µs (nearest rank: the smallest sample
/// with at least p of them at or below it).
pub fn percentiles(samples: &mut [u32]) -> Option<Percentiles> {
    samples.sort_unstable();
    let count = samples.len();
    let at = |p: f64| {
        let rank = ((p * count as f64).ceil() as usize).clamp(1, count);
        samples
            .get(rank - 1)
            .map_or(0.0, |&us| f64::from(us) / 1000.0)
    };
    (count > 0).then(|| Percentiles {
        count,
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: at(1.0),
    })
}

/// `p50 … p90 … p99 … max … (n samples)`, or "no samples".
pub fn show(p: &Option<Percentiles>) -> String {
    p.as_ref().map_or("no samples".into(), |p| {
        format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  ({} samples)",
            p.p50, p.p90, p.p99, p.max, p.count
        )
    })
}

/// A sample in µs, saturating at `u32::MAX` (71 minutes).
pub fn micros(us: u64) -> u32 {
    u32::try_from(us).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_in_milliseconds() {
        // 1..=100 ms, shuffled.
        let mut samples: Vec<u32> = (1..=100u32).rev().map(|ms| ms * 1000).collect();
        let p = percentiles(&mut samples).unwrap();
        assert_eq!(p.count, 100);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
    }

    #[test]
    fn a_few_samples_round_up_to_a_real_one() {
        let mut samples = vec![3_000, 1_000, 2_000];
        let p = percentiles(&mut samples).unwrap();
        // Rank ceil(0.5 × 3) = 2, ceil(0.99 × 3) = 3.
        assert_eq!((p.p50, p.p99, p.max), (2.0, 3.0, 3.0));
        let mut one = vec![1_500];
        let p = percentiles(&mut one).unwrap();
        assert_eq!((p.p50, p.p90, p.p99, p.max), (1.5, 1.5, 1.5, 1.5));
    }

    #[test]
    fn no_samples_no_percentiles() {
        assert_eq!(percentiles(&mut []), None);
        assert_eq!(show(&None), "no samples");
    }

    #[test]
    fn shown_with_two_decimals_and_the_count() {
        let p = percentiles(&mut [1_234, 5_678]).unwrap();
        assert_eq!(
            show(&Some(p)),
            "p50 1.23  p90 5.68  p99 5.68  max 5.68  (2 samples)"
        );
    }

    #[test]
    fn samples_saturate() {
        assert_eq!(micros(12), 12);
        assert_eq!(micros(u64::MAX), u32::MAX);
    }
}
