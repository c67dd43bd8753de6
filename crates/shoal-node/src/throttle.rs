//! Rate limits for warnings that a peer, or anyone who can reach the port, can trigger at will.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Lets one warning through per window and counts the ones it holds back, so a flood of bad
/// connections costs a log line a second, not a line each.
#[derive(Debug)]
pub(crate) struct Throttle {
    epoch: Instant,
    window: Duration,
    /// End of the current window, in nanoseconds since `epoch` (0: no window yet).
    open_until_ns: AtomicU64,
    /// Warnings held back since the last one let through.
    held: AtomicU64,
}

impl Throttle {
    /// One warning per `window`.
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            window,
            open_until_ns: AtomicU64::new(0),
            held: AtomicU64::new(0),
        }
    }

    /// `Some(held back since the last one)` when this warning may be logged, `None` when it is
    /// held back (and counted).
    pub(crate) fn allow(&self) -> Option<u64> {
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let until = self.open_until_ns.load(Ordering::Relaxed);
        let window = u64::try_from(self.window.as_nanos()).unwrap_or(u64::MAX);
        if now >= until
            && self
                .open_until_ns
                .compare_exchange(
                    until,
                    now.saturating_add(window),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Some(self.held.swap(0, Ordering::Relaxed));
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        None
    }
}

impl Default for Throttle {
    /// One warning a second.
    fn default() -> Self {
        Self::new(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_window_and_the_rest_are_counted() {
        let throttle = Throttle::new(Duration::from_secs(3600));
        assert_eq!(throttle.allow(), Some(0));
        for _ in 0..5 {
            assert_eq!(throttle.allow(), None);
        }
        assert_eq!(throttle.held.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn a_new_window_reports_what_was_held_back() {
        let throttle = Throttle::new(Duration::ZERO);
        assert_eq!(throttle.allow(), Some(0));
        throttle.held.store(7, Ordering::Relaxed);
        assert_eq!(throttle.allow(), Some(7));
    }
}
