//! The distributed supervisor's child table: every child spec and who owns it, replicated on
//! every node as a map whose entries merge by a total order.
//!
//! Each entry carries a [`Version`] (a Lamport counter, then the writing process) and its
//! *incarnation*: the version of the `start_child` write that began this life of the id
//! ([`ChildTable::start`]), which every later write of that life carries. A replica keeps,
//! per child id, the entry of the newest incarnation; within one, a tombstone over any live
//! write (a terminate wins over every write that did not see it), then the highest version
//! ([`ChildEntry::wins_over`]). So merging is commutative, associative and idempotent and
//! replicas that saw the same entries agree. Local writes go
//! out as batched deltas ([`ChildTable::flush`]); a summary (an XOR of entry hashes) on
//! link-up and on every tick repairs lost deltas with snapshots.
//!
//! # Tombstones and the floor
//! A removed child stays as a tombstone so a late or stale copy of it cannot bring it back,
//! but only until every replica has it. Each tick's [`ChildFrame::Summary`] carries, besides
//! the digest, `prefix`: the XOR of the sender's entries older than `below` (one past its
//! clock at its previous tick, so writes still in flight then are left out). A receiver
//! whose own entries older than `below` hash the same (leaving out tombstones below the
//! sender's floor, which the sender collected) knows the sender holds all its tombstones up
//! to there: the sender *confirmed* `below`. Once every
//! peer heard from within the horizon ([`PEER_HORIZON_MS`]) confirmed, the table raises its
//! **floor** to the smallest confirmation and drops its tombstones older than the floor; a
//! tombstone older than the floor that arrives later is dropped too. A peer that stops
//! answering (down, paused, cut off) keeps counting until the horizon passes, so a node
//! that missed a terminate and comes back within it still finds the tombstone; a newer
//! process under the peer's name replaces it at once (the old table died with the old
//! process). See docs/design-notes.md, "Child-table tombstones are collected once every
//! replica has them".
//!
//! # Call order
//! The driver calls [`ChildTable::handle_tick`] with its clock on a timer,
//! [`ChildTable::handle_peer_up`] when a link comes up and
//! [`ChildTable::handle_frame`] for every table frame, then drains
//! [`ChildTable::poll_output`] and sends what it returns. Writes ([`ChildTable::write`]) go
//! out on the next [`ChildTable::flush`].

mod entry;
mod record;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::node_id::{NodeId, NodeName};

pub use self::entry::{ChildEntry, Version};
pub use self::record::{ChildRecord, ChildSpec, Intensity, Restart, StartKind};

/// How long a peer that stopped sending table frames (down, paused or cut off) still counts
/// among the replicas that must confirm a tombstone before it is collected, in ms. A peer
/// that comes back within it finds every tombstone it missed still there; one that comes
/// back later with a record of a child terminated and collected meanwhile brings that
/// child back, as a Cassandra node down for longer than `gc_grace_seconds` does.
pub const PEER_HORIZON_MS: u64 = 300_000;

/// How often a driver calls [`ChildTable::handle_tick`], so every node sends every peer its
/// table summary (digest and tombstone confirmation). shoal-node and the simulator both
/// use this one value.
pub const DIGEST_INTERVAL: Duration = Duration::from_secs(2);

/// Supervisor traffic on a link. New variants go at the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChildFrame {
    /// "My table hashes to this" (sent by earlier versions; answered as a
    /// [`ChildFrame::Summary`] without a prefix).
    Digest {
        /// XOR of the entries' hashes.
        hash: u64,
    },
    /// "Send me your whole table."
    SyncRequest,
    /// A whole table.
    Snapshot(Vec<ChildEntry>),
    /// Entries the sender wrote.
    Delta(Vec<ChildEntry>),
    /// The state of a child moving to the receiver (the sender stopped its instance first).
    Handoff {
        /// The child id.
        id: String,
        /// The state its instance handed over, if it had any.
        state: Option<bytes::Bytes>,
    },
    /// "My table hashes to `hash`; my entries older than `below` hash to `prefix`; I hold no
    /// tombstone older than `floor`": a peer with another `hash` answers with its snapshot
    /// and asks for ours; one whose entries older than `below` (but its tombstones older
    /// than `floor`) hash to `prefix` counts it as confirming `below` (see the module doc).
    Summary {
        /// XOR of all entries' hashes.
        hash: u64,
        /// The cut: one past the sender's clock at its previous tick.
        below: u64,
        /// XOR of the hashes of the entries whose counter is below `below`.
        prefix: u64,
        /// The sender's floor: it collected every tombstone older than it.
        floor: u64,
    },
}

/// What the table asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChildOutput {
    /// Send a frame to one peer.
    Send {
        /// The peer.
        to: NodeId,
        /// The frame.
        frame: ChildFrame,
    },
    /// Send a frame to every linked peer.
    Broadcast(ChildFrame),
}

/// A peer replica as the tombstone collection sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Peer {
    /// Its process (a newer process under the same name replaces it).
    process: NodeId,
    /// Whether it sent a table frame since the last tick.
    heard: bool,
    /// The tick at which it was last found to have sent one (ms, the driver's clock).
    heard_ms: u64,
    /// The highest cut below which it was seen to hold exactly our entries.
    confirmed: u64,
}

/// One node's replica of the child table.
#[derive(Debug)]
pub struct ChildTable {
    local: NodeId,
    clock: u64,
    entries: BTreeMap<String, ChildEntry>,
    digest: u64,
    unsent: Vec<ChildEntry>,
    outputs: VecDeque<ChildOutput>,
    changes: u64,
    /// Peers whose whole table this replica has merged (or found equal) since their last
    /// link went down, with the process that told us.
    synced: BTreeMap<NodeName, NodeId>,
    /// The driver's clock at the last tick (ms).
    now_ms: u64,
    /// One past the clock at the previous tick: the cut offered in the next summary.
    below: u64,
    /// No tombstone older than it is kept: every peer had them.
    floor: u64,
    /// Replicas that must confirm before a tombstone is collected.
    peers: BTreeMap<NodeName, Peer>,
}

impl ChildTable {
    /// An empty table for the process `local` (a node's name and process creation).
    pub fn new(local: NodeId) -> Self {
        Self {
            local,
            clock: 0,
            entries: BTreeMap::new(),
            digest: 0,
            unsent: Vec::new(),
            outputs: VecDeque::new(),
            changes: 0,
            synced: BTreeMap::new(),
            now_ms: 0,
            below: 0,
            floor: 0,
            peers: BTreeMap::new(),
        }
    }

    /// The process whose replica this is.
    pub fn local(&self) -> &NodeId {
        &self.local
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<ChildOutput> {
        self.outputs.pop_front()
    }

    /// The live (not removed) child `id`.
    pub fn get(&self, id: &str) -> Option<&ChildRecord> {
        self.entries.get(id)?.record.as_ref()
    }

    /// Every live child, by id.
    pub fn children(&self) -> impl Iterator<Item = &ChildRecord> {
        self.entries.values().filter_map(|e| e.record.as_ref())
    }

    /// How many tombstones (removed children not collected yet) the table holds.
    pub fn tombstones(&self) -> usize {
        self.entries.values().filter(|e| e.record.is_none()).count()
    }

    /// The floor: no tombstone is older than it (see the module doc).
    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// Whether the table holds any entry, tombstones included.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many children each node owns (failed children count for nobody).
    pub fn loads(&self) -> HashMap<NodeName, usize> {
        let mut loads = HashMap::new();
        for child in self.children().filter(|c| c.failed.is_none()) {
            *loads.entry(child.owner.clone()).or_default() += 1;
        }
        loads
    }

    /// Grows with every change to the table, local or merged (for waiters).
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The table's digest: equal digests mean equal tables (up to hash collisions).
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Starts a new incarnation of child `id` with `record` (what `start_child` writes): it
    /// wins over every entry of the id this replica has seen, a tombstone included, and
    /// over every write of the incarnations those belong to (see [`ChildEntry::wins_over`]).
    /// The change goes out with the next [`ChildTable::flush`].
    pub fn start(&mut self, id: &str, record: ChildRecord) {
        let version = self.tick();
        self.put(id, version.clone(), version, Some(record));
    }

    /// Writes `record` for `id` (`None` removes it) with a version newer than any seen, in
    /// the incarnation of the entry the table holds for `id`: a change of the live child, or
    /// the tombstone that ends it. A live record where the table holds none (nothing, or a
    /// tombstone) starts a new incarnation, as [`ChildTable::start`] does. The change goes
    /// out with the next [`ChildTable::flush`].
    pub fn write(&mut self, id: &str, record: Option<ChildRecord>) {
        let version = self.tick();
        let incarnation = match self.entries.get(id) {
            Some(held) if held.record.is_some() || record.is_none() => held.incarnation.clone(),
            _ => version.clone(),
        };
        self.put(id, version, incarnation, record);
    }

    /// A version newer than any this replica has seen.
    fn tick(&mut self) -> Version {
        self.clock += 1;
        Version {
            counter: self.clock,
            node: self.local.clone(),
        }
    }

    fn put(&mut self, id: &str, version: Version, incarnation: Version, record: Option<ChildRecord>) {
        let entry = ChildEntry {
            id: id.to_owned(),
            version,
            incarnation,
            record,
        };
        self.merge(entry.clone());
        self.unsent.push(entry);
    }

    /// Sends the local writes since the last flush to every peer, as one delta.
    pub fn flush(&mut self) {
        if !self.unsent.is_empty() {
            let delta = std::mem::take(&mut self.unsent);
            self.outputs
                .push_back(ChildOutput::Broadcast(ChildFrame::Delta(delta)));
        }
    }

    /// Keeps `entry` if it wins over what the table holds for its id
    /// ([`ChildEntry::wins_over`]: a tombstone wins over every write of the incarnation it
    /// ends); returns whether it was kept. A tombstone older than the floor removes what it
    /// wins over but is not kept itself (it was collected: every peer had it).
    pub fn merge(&mut self, entry: ChildEntry) -> bool {
        // The incarnation too, so a start here is newer than any incarnation seen, even one
        // a peer wrote with a counter above its version's.
        self.clock = self
            .clock
            .max(entry.version.counter)
            .max(entry.incarnation.counter);
        let collected = entry.record.is_none() && entry.version.counter < self.floor;
        match self.entries.get(&entry.id) {
            Some(old) if !entry.wins_over(old) => return false,
            Some(_) if collected => {
                self.remove(&entry.id);
                return true;
            }
            Some(old) => self.digest ^= old.hash(),
            None if collected => return false,
            None => {}
        }
        self.changes += 1;
        self.digest ^= entry.hash();
        self.entries.insert(entry.id.clone(), entry);
        true
    }

    fn merge_all(&mut self, entries: impl IntoIterator<Item = ChildEntry>) {
        for entry in entries {
            self.merge(entry);
        }
    }

    /// Whether this replica has merged `peer`'s whole table (or found it equal) since their
    /// last link went down.
    pub fn has_synced_with(&self, peer: &NodeName) -> bool {
        self.synced.contains_key(peer)
    }

    /// A link to `peer` is up: compare tables. The peer counts for tombstone collection
    /// from now on, so nothing is collected until it confirmed.
    ///
    /// What the peer told us before this call still counts: its summary may arrive (over
    /// the new link) before the driver learns of the link, and the peer sends it once.
    /// [`ChildTable::handle_peer_down`] is what forgets a comparison.
    pub fn handle_peer_up(&mut self, peer: NodeId) {
        self.heard(&peer);
        let frame = self.summary();
        self.outputs.push_back(ChildOutput::Send { to: peer, frame });
    }

    /// The last link to `peer` is down: its table may change unseen from now on, so it is
    /// compared again after the next link-up ([`ChildTable::has_synced_with`]).
    /// A newer process under the name that already told us stays synced.
    pub fn handle_peer_down(&mut self, peer: &NodeId) {
        if self.synced.get(&peer.name) == Some(peer) {
            self.synced.remove(&peer.name);
        }
    }

    /// The timer, at `now_ms` (the driver's wall clock, ms since the Unix epoch): forget
    /// peers silent for longer than the horizon, collect what every other peer confirmed,
    /// and tell every peer our summary.
    pub fn handle_tick(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        let now = self.now_ms;
        self.peers.retain(|_, p| {
            if std::mem::take(&mut p.heard) {
                p.heard_ms = now;
            }
            now.saturating_sub(p.heard_ms) <= PEER_HORIZON_MS
        });
        self.collect();
        let frame = self.summary();
        self.outputs.push_back(ChildOutput::Broadcast(frame));
        self.below = self.clock + 1;
    }

    /// A table frame from `from` (a `Handoff` is the driver's, and is ignored here).
    pub fn handle_frame(&mut self, from: &NodeId, frame: ChildFrame) {
        self.heard(from);
        match frame {
            ChildFrame::Digest { hash } => self.handle_summary(from, hash, None),
            ChildFrame::Summary {
                hash,
                below,
                prefix,
                floor,
            } => self.handle_summary(from, hash, Some((below, prefix, floor))),
            ChildFrame::Handoff { .. } => {}
            ChildFrame::SyncRequest => {
                let frame = self.snapshot();
                self.send(from, frame);
            }
            ChildFrame::Snapshot(entries) => {
                self.merge_all(entries);
                self.synced.insert(from.name.clone(), from.clone());
            }
            ChildFrame::Delta(entries) => self.merge_all(entries),
        }
    }

    fn handle_summary(&mut self, from: &NodeId, hash: u64, cut: Option<(u64, u64, u64)>) {
        if hash == self.digest {
            self.synced.insert(from.name.clone(), from.clone());
        } else {
            let frame = self.snapshot();
            self.send(from, frame);
            self.send(from, ChildFrame::SyncRequest);
        }
        let Some((below, prefix, floor)) = cut else {
            return;
        };
        if prefix != self.prefix(below, floor) {
            return;
        }
        if let Some(peer) = self.peers.get_mut(&from.name)
            && peer.process == *from
        {
            peer.confirmed = peer.confirmed.max(below);
        }
        self.collect();
    }

    /// Raises the floor to the smallest cut every peer in the horizon confirmed; nothing
    /// while no peer counts (a node alone does not know who else may hold its tombstones).
    fn collect(&mut self) {
        let confirmed = self.peers.values().map(|p| p.confirmed).min();
        if let Some(floor) = confirmed {
            self.raise_floor(floor);
        }
    }

    /// Sets the floor to `floor` if higher and drops the tombstones below it.
    fn raise_floor(&mut self, floor: u64) {
        if floor <= self.floor {
            return;
        }
        self.floor = floor;
        let collected: Vec<String> = self
            .entries
            .values()
            .filter(|e| e.record.is_none() && e.version.counter < floor)
            .map(|e| e.id.clone())
            .collect();
        for id in collected {
            self.remove(&id);
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(old) = self.entries.remove(id) {
            self.digest ^= old.hash();
            self.changes += 1;
        }
    }

    /// Notes a frame from `from`: a newer process under a known name replaces the older
    /// (whose table died with it); frames from an older one are not counted.
    fn heard(&mut self, from: &NodeId) {
        match self.peers.get_mut(&from.name) {
            Some(peer) if peer.process == *from => peer.heard = true,
            Some(peer) if peer.process.creation > from.creation => {}
            _ => {
                let peer = Peer {
                    process: from.clone(),
                    heard: true,
                    heard_ms: self.now_ms,
                    confirmed: 0,
                };
                self.peers.insert(from.name.clone(), peer);
            }
        }
    }

    /// XOR of the hashes of the entries older than `below`, leaving out tombstones older
    /// than `collected` (a peer with that floor holds none).
    fn prefix(&self, below: u64, collected: u64) -> u64 {
        self.entries
            .values()
            .filter(|e| e.version.counter < below)
            .filter(|e| e.record.is_some() || e.version.counter >= collected)
            .fold(0, |acc, e| acc ^ e.hash())
    }

    fn summary(&self) -> ChildFrame {
        ChildFrame::Summary {
            hash: self.digest,
            below: self.below,
            prefix: self.prefix(self.below, 0),
            floor: self.floor,
        }
    }

    fn snapshot(&self) -> ChildFrame {
        ChildFrame::Snapshot(self.entries.values().cloned().collect())
    }

    fn send(&mut self, to: &NodeId, frame: ChildFrame) {
        self.outputs.push_back(ChildOutput::Send {
            to: to.clone(),
            frame,
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
#[path = "children_test.rs"]
mod tests;
