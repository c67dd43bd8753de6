//! The distributed supervisor's child table (ARCHITECTURE section 7): every child spec and
//! who owns it, replicated on every node as a last-writer-wins map.
//!
//! Each entry carries a [`Version`] (a Lamport counter, then the writing node's name); a
//! replica keeps, per child id, the entry with the highest version, so merging is
//! commutative, associative and idempotent and replicas that saw the same entries agree.
//! Removed children stay as tombstones (a few bytes each) so a late delta cannot bring them
//! back. Local writes go out as batched deltas ([`ChildTable::flush`]); a digest (an XOR of
//! entry hashes) on link-up and on a timer repairs lost deltas with snapshots.
//!
//! Sans-io: the driver feeds frames and link events in and sends what
//! [`ChildTable::poll_output`] returns.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::Hasher;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::actor_wire::ExitReason;
use crate::node_id::{NodeId, NodeName};
use crate::placement::PlacementHints;

/// When a stopped child is started again (as in Erlang supervisors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Restart {
    /// Always, whatever the reason (the default).
    #[default]
    Permanent,
    /// Only after an abnormal exit (not `Normal` or `Shutdown`).
    Transient,
    /// Never: not after an exit, nor when its node goes down.
    Temporary,
}

/// At most `max_restarts` restarts within `within_ms`; one more and the child is given up
/// ([`ChildRecord::failed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Intensity {
    /// Restarts allowed in the window.
    pub max_restarts: u32,
    /// The window, in milliseconds.
    pub within_ms: u64,
}

impl Default for Intensity {
    /// 3 restarts in 5 seconds (Horde's default).
    fn default() -> Self {
        Self {
            max_restarts: 3,
            within_ms: 5_000,
        }
    }
}

/// What a distributed supervisor's child is: the cluster-wide id (also its registered name),
/// the factory and arguments that build it on any node, and how it is restarted and placed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildSpec {
    /// Cluster-wide id; the running instance is registered under it.
    pub id: String,
    /// A factory registered on every eligible node.
    pub factory: String,
    /// The factory's arguments, encoded (postcard).
    pub args: Bytes,
    /// Restart type.
    pub restart: Restart,
    /// Where it may run.
    pub placement: PlacementHints,
    /// Restart intensity.
    pub intensity: Intensity,
}

impl ChildSpec {
    /// A permanent child `id` built by `factory` from `args`, placed uniformly, with the
    /// default intensity. Fails only if `args` do not encode.
    pub fn new<A: Serialize>(
        id: impl Into<String>,
        factory: impl Into<String>,
        args: &A,
    ) -> Result<Self, postcard::Error> {
        Ok(Self {
            id: id.into(),
            factory: factory.into(),
            args: Bytes::from(postcard::to_stdvec(args)?),
            restart: Restart::default(),
            placement: PlacementHints::default(),
            intensity: Intensity::default(),
        })
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Sets the placement strategy.
    pub fn strategy(mut self, strategy: crate::placement::PlacementStrategy) -> Self {
        self.placement.strategy = strategy;
        self
    }

    /// Limits placement to nodes with `role`.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.placement.role = Some(role.into());
        self
    }

    /// Sets the restart intensity: at most `max_restarts` within `within`.
    pub fn intensity(mut self, max_restarts: u32, within: std::time::Duration) -> Self {
        self.intensity = Intensity {
            max_restarts,
            within_ms: within.as_millis() as u64,
        };
        self
    }
}

/// How the current instance of a child came to be.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartKind {
    /// Not started yet, or started from its spec for the first time.
    #[default]
    Fresh,
    /// Restarted on its owner after it stopped; in-memory state was lost.
    Restarted {
        /// Why the previous instance stopped.
        reason: ExitReason,
    },
    /// Restarted on a new owner after its node went down; in-memory state was lost.
    FailedOver {
        /// The node that went down.
        from: NodeName,
    },
    /// Moved from another node with its state (migration, rebalancing or a graceful leave).
    HandedOff {
        /// The previous owner.
        from: NodeName,
    },
    /// A handoff began but the previous owner went down first: started from its spec, the
    /// state was lost.
    HandoffLost {
        /// The previous owner.
        from: NodeName,
    },
}

impl StartKind {
    /// Whether the instance started from a previous instance's state (or had none to lose).
    pub fn kept_state(&self) -> bool {
        matches!(self, Self::Fresh | Self::HandedOff { .. })
    }
}

/// A child as the table holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildRecord {
    /// The spec.
    pub spec: ChildSpec,
    /// The node that must run it.
    pub owner: NodeName,
    /// Set while the child moves with its state: the previous owner, which hands the state
    /// to `owner`; `owner` waits for it (or for that node to go down) before it starts.
    pub handoff_from: Option<NodeName>,
    /// Instances started so far.
    pub starts: u32,
    /// Recent restart times (ms since the Unix epoch), for the intensity limit.
    pub restarts_ms: Vec<u64>,
    /// How the current (or next) instance starts.
    pub last_start: StartKind,
    /// Set when the child was given up (too many restarts): no node runs it.
    pub failed: Option<ExitReason>,
}

impl ChildRecord {
    /// A new child owned by `owner`.
    pub fn new(spec: ChildSpec, owner: NodeName) -> Self {
        Self {
            spec,
            owner,
            handoff_from: None,
            starts: 0,
            restarts_ms: Vec::new(),
            last_start: StartKind::Fresh,
            failed: None,
        }
    }

    /// Records a restart at `now_ms`; returns false (and keeps it) if it is one too many
    /// for the intensity limit.
    pub fn note_restart(&mut self, now_ms: u64) -> bool {
        let window = self.spec.intensity.within_ms;
        self.restarts_ms.retain(|t| now_ms.saturating_sub(*t) < window);
        self.restarts_ms.push(now_ms);
        self.restarts_ms.len() <= self.spec.intensity.max_restarts as usize
    }
}

/// The version of one entry: a Lamport counter, then the writer (name, then process life).
///
/// The life matters: a restarted node starts a fresh table whose clock only knows what it
/// merged, so it can write the counter its old life already used for another content. With
/// the name alone those two versions would tie, and replicas holding one or the other would
/// never converge (the simulator found this).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    /// Lamport counter.
    pub counter: u64,
    /// The process that wrote it.
    pub node: NodeId,
}

/// One entry of the table: a child, or its tombstone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildEntry {
    /// The child id.
    pub id: String,
    /// Its version.
    pub version: Version,
    /// The child, or `None` once it was removed.
    pub record: Option<ChildRecord>,
}

impl ChildEntry {
    fn hash(&self) -> u64 {
        let mut hasher = twox_hash::XxHash64::with_seed(7);
        hasher.write(self.id.as_bytes());
        hasher.write_u8(0xff);
        hasher.write_u64(self.version.counter);
        hasher.write(self.version.node.name.as_str().as_bytes());
        hasher.write_u64(self.version.node.creation.0);
        hasher.finish()
    }
}

/// Supervisor traffic on a link. New variants go at the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChildFrame {
    /// "My table hashes to this": a peer with another hash answers with its snapshot and
    /// asks for ours.
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
        state: Option<Bytes>,
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
    /// Peers whose whole table this replica has merged (or found equal) since their link
    /// last came up.
    synced: BTreeSet<NodeName>,
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
            synced: BTreeSet::new(),
        }
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

    /// Writes `record` for `id` (`None` removes it) with a version newer than any seen;
    /// the change goes out with the next [`ChildTable::flush`].
    pub fn write(&mut self, id: &str, record: Option<ChildRecord>) {
        self.clock += 1;
        let entry = ChildEntry {
            id: id.to_owned(),
            version: Version {
                counter: self.clock,
                node: self.local.clone(),
            },
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

    /// Keeps `entry` if it is newer than what the table holds; returns whether it was.
    pub fn merge(&mut self, entry: ChildEntry) -> bool {
        self.clock = self.clock.max(entry.version.counter);
        if let Some(old) = self.entries.get(&entry.id) {
            if old.version >= entry.version {
                return false;
            }
            self.digest ^= old.hash();
        }
        self.digest ^= entry.hash();
        self.changes += 1;
        self.entries.insert(entry.id.clone(), entry);
        true
    }

    /// Whether this replica has merged `peer`'s whole table (or found it equal) since their
    /// link last came up.
    pub fn has_synced_with(&self, peer: &NodeName) -> bool {
        self.synced.contains(peer)
    }

    /// A link to `peer` is up: compare digests.
    pub fn handle_peer_up(&mut self, peer: NodeId) {
        self.synced.remove(&peer.name);
        let frame = ChildFrame::Digest { hash: self.digest };
        self.outputs.push_back(ChildOutput::Send { to: peer, frame });
    }

    /// Anti-entropy: tell every peer our digest.
    pub fn handle_tick(&mut self) {
        let frame = ChildFrame::Digest { hash: self.digest };
        self.outputs.push_back(ChildOutput::Broadcast(frame));
    }

    /// A table frame from `from` (a `Handoff` is the driver's, and is ignored here).
    pub fn handle_frame(&mut self, from: &NodeId, frame: ChildFrame) {
        match frame {
            ChildFrame::Digest { hash } if hash != self.digest => {
                self.send(
                    from,
                    ChildFrame::Snapshot(self.entries.values().cloned().collect()),
                );
                self.send(from, ChildFrame::SyncRequest);
            }
            ChildFrame::Digest { .. } => {
                self.synced.insert(from.name.clone());
            }
            ChildFrame::Handoff { .. } => {}
            ChildFrame::SyncRequest => {
                self.send(
                    from,
                    ChildFrame::Snapshot(self.entries.values().cloned().collect()),
                );
            }
            ChildFrame::Snapshot(entries) => {
                for entry in entries {
                    self.merge(entry);
                }
                self.synced.insert(from.name.clone());
            }
            ChildFrame::Delta(entries) => {
                for entry in entries {
                    self.merge(entry);
                }
            }
        }
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
