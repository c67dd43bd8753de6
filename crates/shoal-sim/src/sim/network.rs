//! The network model: latency, datagram loss and partitions between node slots.

use std::collections::BTreeSet;
use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;

/// Who can reach whom, and how long it takes.
///
/// A partition is a set of blocked pairs of node slots: traffic between them (datagrams, link
/// messages, connection closes) vanishes and new dials time out, like a black hole. Real TCP
/// would retransmit, but by the time a partition heals the core's silence rule has already
/// closed those links, so dropping is the behaviour that matters.
#[derive(Debug)]
pub(crate) struct Network {
    latency_min_us: u64,
    latency_max_us: u64,
    loss: f64,
    blocked: BTreeSet<(usize, usize)>,
}

impl Network {
    pub(crate) fn new(latency_min: Duration, latency_max: Duration, loss: f64) -> Self {
        let min = latency_min.as_micros() as u64;
        let max = (latency_max.as_micros() as u64).max(min);
        Self {
            latency_min_us: min,
            latency_max_us: max,
            loss: loss.clamp(0.0, 1.0),
            blocked: BTreeSet::new(),
        }
    }

    /// A fresh one-way delay.
    pub(crate) fn latency(&self, rng: &mut StdRng) -> Duration {
        Duration::from_micros(rng.random_range(self.latency_min_us..=self.latency_max_us))
    }

    /// Whether the next datagram is lost. Draws randomness only when loss is configured.
    pub(crate) fn datagram_lost(&self, rng: &mut StdRng) -> bool {
        self.loss > 0.0 && rng.random_bool(self.loss)
    }

    /// Whether traffic between slots `a` and `b` gets through.
    pub(crate) fn reachable(&self, a: usize, b: usize) -> bool {
        self.blocked.is_empty() || !self.blocked.contains(&pair(a, b))
    }

    /// Cuts every slot of `side_a` off from every slot of `side_b` (other cuts stay).
    pub(crate) fn partition(&mut self, side_a: &[usize], side_b: &[usize]) {
        for &a in side_a {
            for &b in side_b {
                if a != b {
                    self.blocked.insert(pair(a, b));
                }
            }
        }
    }

    /// Removes every cut.
    pub(crate) fn heal(&mut self) {
        self.blocked.clear();
    }

    /// Whether any cut is in place.
    pub(crate) fn is_partitioned(&self) -> bool {
        !self.blocked.is_empty()
    }
}

fn pair(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn a_partition_blocks_both_directions_until_healed() {
        let mut net = Network::new(Duration::from_micros(100), Duration::from_millis(2), 0.0);
        net.partition(&[0, 1], &[2]);
        assert!(!net.reachable(0, 2) && !net.reachable(2, 1));
        assert!(net.reachable(0, 1));
        net.heal();
        assert!(net.reachable(2, 0) && !net.is_partitioned());
    }

    #[test]
    fn latency_stays_in_the_configured_range() {
        let net = Network::new(Duration::from_micros(100), Duration::from_millis(2), 0.0);
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let l = net.latency(&mut rng);
            assert!(
                l >= Duration::from_micros(100) && l <= Duration::from_millis(2),
                "{l:?}"
            );
        }
    }
}
