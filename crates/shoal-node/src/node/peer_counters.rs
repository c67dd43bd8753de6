//! [`PeerCounters`]: per-peer link traffic, for metrics, kept across reconnects.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use shoal_proto::NodeName;

/// Traffic on the links to one peer name, summed over every link to it (each life, each
/// reconnect). The link's reader counts frames in a local [`InTally`] and adds them here in
/// batches; outbound counts are added once per buffer the writer takes (many frames), and
/// the frame count itself is kept under the outbox's lock, which every send takes anyway.
/// So no frame costs an atomic operation of its own.
#[derive(Debug, Default)]
pub(crate) struct PeerCounters {
    /// Frames read from the peer.
    pub(crate) frames_in: AtomicU64,
    /// Bytes of those frames, length prefixes included.
    pub(crate) bytes_in: AtomicU64,
    /// Frames taken from the outbox for writing to the peer.
    pub(crate) frames_out: AtomicU64,
    /// Bytes of those frames, length prefixes included.
    pub(crate) bytes_out: AtomicU64,
    /// User sends refused because the link was busy ([`super::OutboxError::Busy`]).
    pub(crate) busy_refusals: AtomicU64,
    /// Links that finished their handshake with the peer.
    pub(crate) links_up: AtomicU64,
}

impl PeerCounters {
    /// Counts `frames` frames, `bytes` bytes in all, read from the peer.
    pub(crate) fn count_in(&self, frames: u64, bytes: u64) {
        self.frames_in.fetch_add(frames, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts `frames` frames, `bytes` bytes in all, taken for writing.
    pub(crate) fn count_out(&self, frames: u64, bytes: usize) {
        self.frames_out.fetch_add(frames, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// Frames a link's reader has read and not yet added to its peer's [`PeerCounters`]: the
/// reader adds them before it waits for the socket ([`InTally::flush`]), every
/// [`InTally::BATCH`] frames while frames keep coming, and when the tally is dropped. A
/// scrape therefore lags a busy link by at most that many frames.
pub(crate) struct InTally<'a> {
    counters: &'a PeerCounters,
    frames: u64,
    bytes: u64,
}

impl<'a> InTally<'a> {
    /// Frames counted before they are added to the peer's counters, at the latest.
    pub(crate) const BATCH: u64 = 256;

    pub(crate) fn new(counters: &'a PeerCounters) -> Self {
        Self {
            counters,
            frames: 0,
            bytes: 0,
        }
    }

    /// Counts one frame of `len` body bytes (plus its 4-byte length prefix).
    pub(crate) fn count(&mut self, len: usize) {
        self.frames += 1;
        self.bytes += len as u64 + 4;
        if self.frames >= Self::BATCH {
            self.flush();
        }
    }

    /// Adds what was counted to the peer's counters.
    pub(crate) fn flush(&mut self) {
        if self.frames > 0 {
            self.counters.count_in(self.frames, self.bytes);
            self.frames = 0;
            self.bytes = 0;
        }
    }
}

impl Drop for InTally<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The [`PeerCounters`] of every peer name a link came up with, until the history sampler
/// (every second) or a scrape finds the name neither live nor linked ([`PeerTable::prune`]);
/// so the table, and the label set of the per-peer metrics, is bounded by the cluster's
/// size whether or not anything scrapes the node.
#[derive(Debug, Default)]
pub(crate) struct PeerTable {
    peers: Mutex<BTreeMap<NodeName, Arc<PeerCounters>>>,
}

impl PeerTable {
    /// The counters of `peer`, made on first use. A link holds them while it runs.
    pub(crate) fn peer(&self, peer: &NodeName) -> Arc<PeerCounters> {
        self.lock().entry(peer.clone()).or_default().clone()
    }

    /// Bytes written to the links to `peer` so far, if a link to it ever came up.
    pub(crate) fn bytes_out(&self, peer: &NodeName) -> Option<u64> {
        let peers = self.lock();
        peers.get(peer).map(|c| c.bytes_out.load(Ordering::Relaxed))
    }

    /// Drops the counters of peers for which `keep` is false and that no link holds.
    pub(crate) fn prune(&self, mut keep: impl FnMut(&NodeName) -> bool) {
        self.lock()
            .retain(|name, counters| keep(name) || Arc::strong_count(counters) > 1);
    }

    /// [`Self::prune`]s, then returns the rest, sorted by name.
    pub(crate) fn retain(&self, keep: impl FnMut(&NodeName) -> bool) -> Vec<(NodeName, Arc<PeerCounters>)> {
        self.prune(keep);
        let peers = self.lock();
        peers.iter().map(|(n, c)| (n.clone(), c.clone())).collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<NodeName, Arc<PeerCounters>>> {
        // Plain counters: a panic elsewhere leaves nothing half-written.
        self.peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> NodeName {
        NodeName::new(text).expect("a valid name")
    }

    #[test]
    fn a_tally_adds_its_frames_in_batches_on_flush_and_on_drop() {
        let counters = PeerCounters::default();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut tally = InTally::new(&counters);
        for _ in 0..InTally::BATCH - 1 {
            tally.count(6);
        }
        assert_eq!(load(&counters.frames_in), 0);
        tally.count(6);
        assert_eq!(load(&counters.frames_in), InTally::BATCH);
        assert_eq!(load(&counters.bytes_in), InTally::BATCH * 10);
        tally.count(1);
        tally.flush();
        assert_eq!(load(&counters.frames_in), InTally::BATCH + 1);
        tally.count(1);
        drop(tally);
        assert_eq!(load(&counters.frames_in), InTally::BATCH + 2);
        assert_eq!(load(&counters.bytes_in), InTally::BATCH * 10 + 10);
    }

    #[test]
    fn retain_drops_only_names_neither_kept_nor_held_by_a_link() {
        let table = PeerTable::default();
        let held = table.peer(&name("held"));
        drop(table.peer(&name("gone")));
        drop(table.peer(&name("live")));
        let names: Vec<String> = table
            .retain(|n| n.as_str() == "live")
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect();
        assert_eq!(names, ["held", "live"]);
        drop(held);
        table.prune(|_| false);
        assert!(table.retain(|_| true).is_empty());
    }
}
