//! One node's replica of the global registry (ARCHITECTURE section 6), sans-io.
//!
//! Each node is authoritative for the names it registered (its *own* entries) and keeps an
//! exact copy of every live peer's own entries (a *replica* per owner, versioned by the
//! owner's sequence number). The registry's view is their union, with one winner per name
//! chosen by the pure rule in [`rule`]; lookups read it locally.
//!
//! Replication: every change to the own entries is broadcast as a `Delta` carrying the new
//! sequence number. When a link comes up, and periodically after ([`Registry::handle_tick`]),
//! each side sends a `Digest` (its sequence number); a peer whose copy is not at that number
//! asks for a `Snapshot`, as does one that sees a gap in the deltas. A peer's entries vanish when it goes down. When two owners hold one name
//! (a partition healed, or two registrations crossed), every node computes the same winner;
//! the loser's owner drops its entry and reports a [`RegistryOutput::Conflict`] so the node can
//! apply the name's conflict policy.
//!
//! Call order: `register`/`unregister*`/`handle_*` as things happen, then
//! [`Registry::flush`], then drain [`Registry::poll_output`]. Changes to the own entries wait
//! for `flush`, which publishes everything held as one delta (or a few, each at most
//! [`DELTA_SOFT_LIMIT`] bytes of names): a driver may call it after each operation, or later to
//! batch a burst of registrations or joins into few frames. Every frame that carries our
//! sequence number (digest, snapshot) flushes first, so it describes the own entries exactly.

pub mod groups;
pub mod rule;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::actor_wire::Pid;
use crate::node_id::{NodeId, NodeName};

/// Who holds a name, and when it was registered (the owner's wall clock, µs since the epoch).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Registration {
    /// The registered actor (its node is the owner).
    pub pid: Pid,
    /// Registration time on the owner, in µs since the Unix epoch: the first key of the
    /// conflict rule.
    pub clock: u64,
}

/// One change to an owner's own entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// The name now belongs to this registration.
    Put {
        /// The name.
        name: String,
        /// Its registration.
        registration: Registration,
    },
    /// The owner dropped the name.
    Remove {
        /// The name.
        name: String,
    },
}

impl Change {
    /// The name it changes.
    pub fn name(&self) -> &str {
        match self {
            Self::Put { name, .. } | Self::Remove { name } => name,
        }
    }
}

/// Registry traffic on a link. New variants go at the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistryFrame {
    /// "My own entries are at this sequence number" (sent when a link comes up).
    Digest {
        /// The sender's sequence number.
        seq: u64,
    },
    /// "Send me all your own entries."
    SyncRequest,
    /// All of the sender's own entries, at a sequence number.
    Snapshot {
        /// The sender's sequence number.
        seq: u64,
        /// Name and registration of each entry.
        entries: Vec<(String, Registration)>,
    },
    /// Changes to the sender's own entries; `seq` is the number after applying them.
    Delta {
        /// The sender's sequence number after these changes.
        seq: u64,
        /// The changes, in order.
        changes: Vec<Change>,
    },
}

/// What the registry asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryOutput {
    /// Send a frame to one peer.
    Send {
        /// The peer.
        to: NodeId,
        /// The frame.
        frame: RegistryFrame,
    },
    /// Send a frame to every linked peer.
    Broadcast(RegistryFrame),
    /// `pid` joined (`joined`) or left a process group, as this node's view now has it.
    GroupChanged {
        /// The group.
        group: String,
        /// The member.
        pid: Pid,
        /// Whether it joined (or left).
        joined: bool,
    },
    /// Our registration of `name` lost to another owner's and was dropped: apply the name's
    /// conflict policy to `loser` (stop it with `NameConflict { winner }`, or tell it).
    Conflict {
        /// The name.
        name: String,
        /// Our actor that held it.
        loser: Pid,
        /// The actor that holds it now.
        winner: Pid,
    },
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// The name is taken (on this node or another); nothing changed.
    #[error("name already registered to {0}")]
    AlreadyRegistered(Pid),
    /// Only actors of this node can be registered through this node.
    #[error("{0} is not an actor of this node; register it through its own node")]
    NotLocal(Pid),
    /// The actor is not running (the node checks this before asking the registry).
    #[error("{0} is not running")]
    NoProc(Pid),
    /// Names starting with a NUL character are reserved (group memberships use them), and
    /// group names may not contain one.
    #[error("invalid name {0:?}: names may not start with a NUL character")]
    Reserved(String),
}

/// A delta stops taking changes once their names add up to this many bytes, so a burst of
/// changes leaves as several frames well under any link's frame limit.
pub const DELTA_SOFT_LIMIT: usize = 64 * 1024;

/// A copy of one peer's own entries.
#[derive(Debug, Clone)]
struct Replica {
    id: NodeId,
    seq: u64,
    entries: Names,
}

/// One node's replica of the registry.
#[derive(Debug)]
pub struct Registry {
    local: NodeId,
    own_seq: u64,
    own: OwnEntries,
    /// Changes to the own entries not yet published.
    held: Vec<Change>,
    /// Whether to report [`RegistryOutput::GroupChanged`].
    group_events: bool,
    replicas: BTreeMap<NodeName, Replica>,
    view: HashMap<String, Registration, ViewHasher>,
    groups: groups::GroupIndex,
    outputs: VecDeque<RegistryOutput>,
}

/// foldhash for the lookup table: its short-string path is several times faster than SipHash
/// and twice as fast as xxHash64 on names, which matters at tens of millions of lookups per
/// second. The seed is fixed so a replica behaves the same in every run (the simulator
/// replays seeds); names come only from authenticated peers, so SipHash's flood resistance
/// buys nothing here.
pub(crate) type ViewHasher = foldhash::fast::FixedState;

/// Names and their registrations, as one owner holds them (unordered; a snapshot's order
/// carries no meaning).
type Names = HashMap<String, Registration, ViewHasher>;

impl Registry {
    /// An empty registry for node `local`.
    pub fn new(local: NodeId) -> Self {
        Self {
            local,
            own_seq: 0,
            own: OwnEntries::default(),
            held: Vec::new(),
            group_events: true,
            replicas: BTreeMap::new(),
            view: HashMap::default(),
            groups: groups::GroupIndex::default(),
            outputs: VecDeque::new(),
        }
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<RegistryOutput> {
        self.outputs.pop_front()
    }

    /// Registers `name` for the local actor `pid` at `now_us`. Registering a name again for
    /// the pid that holds it is a no-op.
    pub fn register(&mut self, name: &str, pid: Pid, now_us: u64) -> Result<(), RegisterError> {
        if name.starts_with('\0') {
            return Err(RegisterError::Reserved(name.to_owned()));
        }
        self.claim(name.to_owned(), pid, now_us)
    }

    /// Adds the local actor `pid` to process group `group` (joining twice is a no-op).
    pub fn join(&mut self, group: &str, pid: Pid, now_us: u64) -> Result<(), RegisterError> {
        if !groups::valid_group(group) {
            return Err(RegisterError::Reserved(group.to_owned()));
        }
        self.claim(groups::group_key(group, &pid), pid, now_us)
    }

    /// Removes the local actor `pid` from `group`; returns whether it was a member.
    pub fn leave(&mut self, group: &str, pid: &Pid) -> bool {
        self.unregister(&groups::group_key(group, pid)).is_some()
    }

    /// The members of `group` on every node, sorted.
    pub fn members(&self, group: &str) -> Vec<Pid> {
        self.groups.members(group)
    }

    /// Every group with its member count, sorted by name.
    pub fn groups(&self) -> Vec<(String, usize)> {
        self.groups.groups()
    }

    /// How many members `group` has.
    pub fn group_size(&self, group: &str) -> usize {
        self.groups.size(group)
    }

    fn claim(&mut self, name: String, pid: Pid, now_us: u64) -> Result<(), RegisterError> {
        if pid.node != self.local {
            return Err(RegisterError::NotLocal(pid));
        }
        if let Some(current) = self.view.get(&name) {
            return if current.pid == pid {
                Ok(())
            } else {
                Err(RegisterError::AlreadyRegistered(current.pid.clone()))
            };
        }
        // No replica holds the name (the view would show it), so ours is the winner.
        let registration = Registration { pid, clock: now_us };
        self.own.insert(name.clone(), registration.clone());
        self.publish(Change::Put {
            name: name.clone(),
            registration: registration.clone(),
        });
        let pid = registration.pid.clone();
        self.view.insert(name.clone(), registration);
        self.note_group_change(&name, None, Some(&pid));
        Ok(())
    }

    /// Drops this node's registration of `name`; returns the pid that held it.
    pub fn unregister(&mut self, name: &str) -> Option<Pid> {
        let registration = self.own.remove(name)?;
        self.publish(Change::Remove {
            name: name.to_owned(),
        });
        self.recompute(name);
        Some(registration.pid)
    }

    /// Drops every name of the local actor `pid` (it stopped); returns them.
    pub fn unregister_pid(&mut self, pid: &Pid) -> Vec<String> {
        let names = self.own.names_of(pid);
        if names.is_empty() {
            return names;
        }
        for name in &names {
            self.own.remove(name);
            self.publish(Change::Remove { name: name.clone() });
        }
        for name in &names {
            self.recompute(name);
        }
        names
    }

    /// The actor registered under `name`, from the local view.
    pub fn whereis(&self, name: &str) -> Option<&Pid> {
        self.view.get(name).map(|r| &r.pid)
    }

    /// Every name with its winning registration, sorted by name (group memberships are not
    /// names; see [`Registry::groups`]).
    pub fn registered(&self) -> Vec<(String, Registration)> {
        let mut all: Vec<(String, Registration)> = self
            .view
            .iter()
            .filter(|(n, _)| groups::group_of(n).is_none())
            .map(|(n, r)| (n.clone(), r.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// How many names the view holds.
    pub fn len(&self) -> usize {
        self.view.len() - self.groups.entries()
    }

    /// Whether the view holds no names.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The owner identity of the replica held for `name`, if any.
    pub fn replica_of(&self, name: &NodeName) -> Option<&NodeId> {
        self.replicas.get(name).map(|r| &r.id)
    }

    /// Periodic anti-entropy: tell every linked peer where our own entries stand, so a peer
    /// that lost a delta (a partition swallowed it) asks for a snapshot. Call it every few
    /// hundred milliseconds.
    pub fn handle_tick(&mut self) {
        self.flush();
        self.outputs
            .push_back(RegistryOutput::Broadcast(RegistryFrame::Digest {
                seq: self.own_seq,
            }));
    }

    /// A link to `peer` came up: tell it where our own entries stand.
    pub fn handle_peer_up(&mut self, peer: NodeId) {
        self.flush();
        self.outputs.push_back(RegistryOutput::Send {
            to: peer,
            frame: RegistryFrame::Digest { seq: self.own_seq },
        });
    }

    /// `peer` went down: its entries (and those of its older lives) vanish.
    pub fn handle_peer_down(&mut self, peer: &NodeId) {
        if self
            .replicas
            .get(&peer.name)
            .is_some_and(|r| r.id.creation <= peer.creation)
            && let Some(replica) = self.replicas.remove(&peer.name)
        {
            for name in replica.entries.keys() {
                self.recompute(name);
            }
        }
    }

    /// A registry frame arrived from `from`.
    pub fn handle_frame(&mut self, from: &NodeId, frame: RegistryFrame) {
        if from.name == self.local.name || self.is_older_life(from) {
            return;
        }
        match frame {
            RegistryFrame::Digest { seq } => {
                let known = self
                    .replicas
                    .get(&from.name)
                    .filter(|r| r.id == *from)
                    .map(|r| r.seq);
                if known != Some(seq) && !(known.is_none() && seq == 0) {
                    self.send(from, RegistryFrame::SyncRequest);
                }
            }
            RegistryFrame::SyncRequest => {
                self.flush();
                let entries = self.own.entries().map(|(n, r)| (n.clone(), r.clone())).collect();
                let seq = self.own_seq;
                self.send(from, RegistryFrame::Snapshot { seq, entries });
            }
            RegistryFrame::Snapshot { seq, entries } => self.apply_snapshot(from, seq, entries),
            RegistryFrame::Delta { seq, changes } => self.apply_delta(from, seq, changes),
        }
    }

    /// Whether `from` is an older life than the replica we hold of that name.
    fn is_older_life(&self, from: &NodeId) -> bool {
        self.replicas
            .get(&from.name)
            .is_some_and(|r| r.id.creation > from.creation)
    }

    fn apply_snapshot(&mut self, from: &NodeId, seq: u64, entries: Vec<(String, Registration)>) {
        let entries: Names = entries
            .into_iter()
            .filter(|(_, r)| r.pid.node == *from)
            .map(|(name, mut r)| {
                r.pid.node = from.clone(); // share the owner's name
                (name, r)
            })
            .collect();
        let mut touched: BTreeSet<String> = entries.keys().cloned().collect();
        let old = self.replicas.insert(
            from.name.clone(),
            Replica {
                id: from.clone(),
                seq,
                entries,
            },
        );
        if let Some(old) = old {
            touched.extend(old.entries.into_keys());
        }
        for name in &touched {
            self.recompute(name);
        }
    }

    fn apply_delta(&mut self, from: &NodeId, seq: u64, changes: Vec<Change>) {
        let replica = self.replicas.entry(from.name.clone()).or_insert_with(|| Replica {
            id: from.clone(),
            seq: 0,
            entries: Names::default(),
        });
        if replica.id != *from {
            // A newer life of the owner: start over from its own state.
            replica.id = from.clone();
            replica.seq = 0;
            let stale: Vec<String> = std::mem::take(&mut replica.entries).into_keys().collect();
            for name in &stale {
                self.recompute(name);
            }
            return self.send(from, RegistryFrame::SyncRequest);
        }
        if seq <= replica.seq {
            return; // already applied
        }
        if seq != replica.seq + 1 {
            return self.send(from, RegistryFrame::SyncRequest);
        }
        replica.seq = seq;
        let mut touched = Vec::with_capacity(changes.len());
        for change in changes {
            match change {
                Change::Put {
                    name,
                    mut registration,
                } if registration.pid.node == *from => {
                    registration.pid.node = replica.id.clone(); // share the owner's name
                    replica.entries.insert(name.clone(), registration);
                    touched.push(name);
                }
                Change::Put { .. } => {} // an owner only speaks for its own actors
                Change::Remove { name } => {
                    replica.entries.remove(&name);
                    touched.push(name);
                }
            }
        }
        for name in &touched {
            self.recompute(name);
        }
    }

    /// Whether to report group changes as [`RegistryOutput::GroupChanged`] (on by default).
    /// A driver with nobody listening turns them off and saves an output per join and leave.
    pub fn set_group_events(&mut self, on: bool) {
        self.group_events = on;
    }

    /// How many changes to the own entries wait for [`Registry::flush`].
    pub fn held_changes(&self) -> usize {
        self.held.len()
    }

    /// Publishes the held changes to the own entries, in order: each delta bumps our sequence
    /// number and is broadcast.
    pub fn flush(&mut self) {
        let mut changes = Vec::new();
        let mut bytes = 0;
        for change in std::mem::take(&mut self.held) {
            bytes += change.name().len();
            changes.push(change);
            if bytes >= DELTA_SOFT_LIMIT {
                self.broadcast_delta(std::mem::take(&mut changes));
                bytes = 0;
            }
        }
        if !changes.is_empty() {
            self.broadcast_delta(changes);
        }
    }

    fn broadcast_delta(&mut self, changes: Vec<Change>) {
        self.own_seq += 1;
        self.outputs
            .push_back(RegistryOutput::Broadcast(RegistryFrame::Delta {
                seq: self.own_seq,
                changes,
            }));
    }

    /// Holds `change` until the next [`Registry::flush`].
    fn publish(&mut self, change: Change) {
        self.held.push(change);
    }

    fn send(&mut self, to: &NodeId, frame: RegistryFrame) {
        self.outputs.push_back(RegistryOutput::Send {
            to: to.clone(),
            frame,
        });
    }

    /// Recomputes the winner of `name`; if our own registration lost, drops it and reports
    /// the conflict.
    fn recompute(&mut self, name: &str) {
        let candidates = self
            .own
            .get(name)
            .into_iter()
            .chain(self.replicas.values().filter_map(|r| r.entries.get(name)));
        let Some(winner) = rule::winner(candidates).cloned() else {
            let old = self.view.remove(name);
            self.note_group_change(name, old.as_ref().map(|r| &r.pid), None);
            return;
        };
        if let Some(own) = self.own.get(name)
            && *own != winner
        {
            let loser = own.pid.clone();
            self.own.remove(name);
            self.publish(Change::Remove {
                name: name.to_owned(),
            });
            self.outputs.push_back(RegistryOutput::Conflict {
                name: name.to_owned(),
                loser,
                winner: winner.pid.clone(),
            });
        }
        let new = winner.pid.clone();
        let old = self.view.insert(name.to_owned(), winner);
        self.note_group_change(name, old.as_ref().map(|r| &r.pid), Some(&new));
    }

    /// Keeps the group index in step with a membership key's winner and reports the change.
    fn note_group_change(&mut self, key: &str, old: Option<&Pid>, new: Option<&Pid>) {
        let Some(group) = groups::group_of(key) else {
            return;
        };
        if let Some((pid, joined)) = self.groups.update(group, old, new)
            && self.group_events
        {
            self.outputs.push_back(RegistryOutput::GroupChanged {
                group: group.to_owned(),
                pid,
                joined,
            });
        }
    }
}

/// This node's own entries, indexed by name and by actor (an actor's exit drops its names
/// without scanning every entry).
#[derive(Debug, Default)]
struct OwnEntries {
    by_name: Names,
    by_pid: HashMap<Pid, BTreeSet<String>, ViewHasher>,
}

impl OwnEntries {
    fn get(&self, name: &str) -> Option<&Registration> {
        self.by_name.get(name)
    }

    fn insert(&mut self, name: String, registration: Registration) {
        if let Some(old) = self.by_name.insert(name.clone(), registration.clone()) {
            self.unindex(&name, &old.pid);
        }
        self.by_pid.entry(registration.pid).or_default().insert(name);
    }

    fn remove(&mut self, name: &str) -> Option<Registration> {
        let registration = self.by_name.remove(name)?;
        self.unindex(name, &registration.pid);
        Some(registration)
    }

    fn unindex(&mut self, name: &str, pid: &Pid) {
        if let Some(names) = self.by_pid.get_mut(pid) {
            names.remove(name);
            if names.is_empty() {
                self.by_pid.remove(pid);
            }
        }
    }

    fn names_of(&self, pid: &Pid) -> Vec<String> {
        self.by_pid
            .get(pid)
            .map(|n| n.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn entries(&self) -> impl Iterator<Item = (&String, &Registration)> {
        self.by_name.iter()
    }
}

#[cfg(test)]
#[path = "registry_test.rs"]
mod tests;
