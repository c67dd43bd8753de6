//! [`LatencyHistogram`]: a lock-free histogram of durations with fixed buckets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub(crate) use super::write::HistogramReading;

/// Upper bounds of the buckets, in microseconds: 50 µs to 10 s, roughly ×2.5 apart. A
/// local call takes some microseconds, a remote one on a LAN a few hundred, and calls time
/// out after seconds; past 10 s only `+Inf` counts.
pub(crate) const BUCKETS_US: [u64; 16] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 10_000_000,
];

/// Counts durations into [`BUCKETS_US`] plus `+Inf`. Observing costs two relaxed atomic
/// adds (the bucket and the sum) and a search of 16 bounds; no lock, no allocation.
/// Readings taken while observations land may be off by the observations in flight (the
/// count is the sum of the buckets, so `_count` and `+Inf` always agree).
#[derive(Debug, Default)]
pub(crate) struct LatencyHistogram {
    /// Per-bucket (not cumulative) counts; the last is `+Inf`.
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    /// Sum of all observations, in microseconds.
    sum_us: AtomicU64,
}

impl LatencyHistogram {
    /// Counts one duration (saturating at `u64::MAX` microseconds).
    pub(crate) fn observe(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKETS_US.partition_point(|bound| *bound < us);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// The current counts.
    pub(crate) fn read(&self) -> HistogramReading {
        let bounds = BUCKETS_US
            .iter()
            .map(|us| *us as f64 / 1e6)
            .chain(std::iter::once(f64::INFINITY));
        let buckets: Vec<(f64, u64)> = bounds
            .zip(&self.buckets)
            .map(|(bound, n)| (bound, n.load(Ordering::Relaxed)))
            .collect();
        HistogramReading {
            sum: self.sum_us.load(Ordering::Relaxed) as f64 / 1e6,
            count: buckets.iter().map(|(_, n)| n).sum(),
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_observation_lands_in_the_first_bucket_whose_bound_it_does_not_exceed() {
        let h = LatencyHistogram::default();
        h.observe(Duration::from_micros(50)); // le 50 µs
        h.observe(Duration::from_micros(51)); // le 100 µs
        h.observe(Duration::from_secs(60)); // +Inf
        let r = h.read();
        assert_eq!(r.count, 3);
        assert_eq!(r.buckets[0], (0.00005, 1));
        assert_eq!(r.buckets[1], (0.0001, 1));
        assert_eq!(r.buckets.last(), Some(&(f64::INFINITY, 1)));
        assert_eq!(r.buckets.len(), BUCKETS_US.len() + 1);
        assert!((r.sum - 60.000101).abs() < 1e-9);
    }

    #[test]
    fn bounds_increase_strictly() {
        assert!(BUCKETS_US.windows(2).all(|w| w[0] < w[1]));
    }
}
