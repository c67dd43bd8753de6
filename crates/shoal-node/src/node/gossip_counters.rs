//! [`GossipCounters`]: what the driver's UDP socket carried, and SWIM's probes and
//! suspicions, for metrics.

use std::sync::atomic::{AtomicU64, Ordering};

use shoal_proto::SwimStats;

/// Counters the driver task writes and a metrics scrape reads. The driver is their only
/// writer; each datagram costs it two relaxed atomic adds.
#[derive(Debug, Default)]
pub(crate) struct GossipCounters {
    /// Datagrams read from the gossip socket (before any check).
    pub(crate) datagrams_in: AtomicU64,
    /// Bytes of those datagrams.
    pub(crate) bytes_in: AtomicU64,
    /// Datagrams handed to the socket (a full socket buffer drops one: see `send_failed`).
    pub(crate) datagrams_out: AtomicU64,
    /// Bytes of those datagrams.
    pub(crate) bytes_out: AtomicU64,
    /// Datagrams the socket refused to send (its buffer was full, or the address unreachable).
    pub(crate) send_failed: AtomicU64,
    /// Copy of [`SwimStats::probes`].
    pub(crate) probes: AtomicU64,
    /// Copy of [`SwimStats::suspicions`].
    pub(crate) suspicions: AtomicU64,
}

impl GossipCounters {
    /// Counts one datagram read from the socket.
    pub(crate) fn count_in(&self, len: usize) {
        self.datagrams_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(len as u64, Ordering::Relaxed);
    }

    /// Counts one datagram handed to the socket, and whether the socket took it.
    pub(crate) fn count_out(&self, len: usize, sent: bool) {
        self.datagrams_out.fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(len as u64, Ordering::Relaxed);
        if !sent {
            self.send_failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Publishes the core's SWIM counters.
    pub(crate) fn set_swim(&self, stats: SwimStats) {
        self.probes.store(stats.probes, Ordering::Relaxed);
        self.suspicions.store(stats.suspicions, Ordering::Relaxed);
    }
}
