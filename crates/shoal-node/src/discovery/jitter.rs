//! Pauses varied at random, so that nodes started together do not act in step.

use std::time::Duration;

/// `interval` varied by -20% to +20% with the random number `r`, so that nodes started
/// together do not query the DNS server, or send beacons, in step.
pub(crate) fn jittered(interval: Duration, r: u64) -> Duration {
    let percent = 80 + u32::try_from(r % 41).unwrap_or(0);
    // Capped at a day, so no interval a library caller sets can overflow.
    interval.min(Duration::from_secs(86_400)) * percent / 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_vary_by_twenty_percent() {
        let five = Duration::from_secs(5);
        assert_eq!(jittered(five, 0), Duration::from_secs(4));
        assert_eq!(jittered(five, 40), Duration::from_secs(6));
        assert_eq!(jittered(five, 20), five);
        assert!((0..1000).all(|r| (4000..=6000).contains(&jittered(five, r * 7919).as_millis())));
    }
}
