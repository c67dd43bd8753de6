//! Waiting on a condition with a deadline.

use std::time::{Duration, Instant};

/// Polls `check` every 10 ms until it returns `Some` or `timeout` passes; `check` runs at
/// least once, and once more at the deadline.
pub fn wait_until<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
