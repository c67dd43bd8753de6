//! One node's replica of the global registry, sans-io (see docs/design-notes.md, "Registry:
//! owners, replicas and one pure rule").
//!
//! Each node is authoritative for the names it registered (its *own* entries) and keeps an
//! exact copy of every live peer's own entries (a *replica* per owner, versioned by the
//! owner's sequence number). The registry's view is their union, with one winner per name
//! chosen by the pure rule in [`rule`]; lookups read it locally. All of it lives in one
//! table from name to its owners' claims (`claims`), so a name costs one entry however many
//! nodes know it, and a lookup is one probe.
//!
//! Replication: every change to the own entries is broadcast as a `Delta` carrying the new
//! sequence number. When a link comes up, and periodically after ([`Registry::handle_tick`]),
//! each side sends a `Digest` (its sequence number); a peer whose copy is not at that number
//! asks for a `Snapshot`, as does one that sees a gap in the deltas. A peer's entries vanish
//! when it goes down. Entries of an owner we have no link to (a partition that cuts only
//! some pairs) are copied from a peer that holds a newer version of them ([`relay`]). When
//! two owners hold one name (a partition healed, or two registrations crossed), every node
//! computes the same winner; the loser's owner drops its entry and reports a
//! [`RegistryOutput::Conflict`] so the node can apply the name's conflict policy.
//!
//! Call order: `register`/`unregister*`/`handle_*` as things happen, then
//! [`Registry::flush`], then drain [`Registry::poll_output`]. Changes to the own entries wait
//! for `flush`, which publishes everything held as one delta (or a few, each at most
//! [`DELTA_SOFT_LIMIT`] bytes of names): a driver may call it after each operation, or later to
//! batch a burst of registrations or joins into few frames. Every frame that carries our
//! sequence number (digest, snapshot) flushes first, so it describes the own entries exactly.

mod claims;
pub mod groups;
mod own;
pub mod relay;
pub mod rule;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::actor_wire::Pid;
use crate::node_id::{NodeId, NodeName};
use claims::Claims;

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
    /// Periodic: a `Digest` of the sender's own entries, plus one hash of the versions of
    /// every owner whose entries it holds (itself included); see [`relay`].
    Summary {
        /// The sender's sequence number.
        seq: u64,
        /// The hash of the versions it holds.
        held: u64,
    },
    /// The version (process identity, sequence number) of every owner whose entries the
    /// sender holds, itself included: the answer to a `Summary` that differs from ours.
    Versions {
        /// Owner and its sequence number.
        owners: Vec<(NodeId, u64)>,
    },
    /// "Send me your copy of `owner`'s entries" (the asker has no link to the owner).
    RelayRequest {
        /// The owner, as the sender's `Versions` named it.
        owner: NodeId,
    },
    /// The sender's copy of `owner`'s entries, at the owner's sequence number `seq`.
    Relayed {
        /// The owner.
        owner: NodeId,
        /// The owner's sequence number these entries are at.
        seq: u64,
        /// Name and registration of each entry.
        entries: Vec<(String, Registration)>,
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

/// How often a driver sends its registry digest to every linked peer (anti-entropy);
/// [`crate::leader::SETTLE_AFTER_GROWTH_MS`] is two of these. shoal-node and the simulator
/// both use this one value.
pub const DIGEST_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// A delta stops taking changes once their names add up to this many bytes, so a burst of
/// changes leaves as several frames well under any link's frame limit.
pub const DELTA_SOFT_LIMIT: usize = 64 * 1024;

/// Where our copy of one peer's own entries stands (the entries are claims in the table).
#[derive(Debug, Clone)]
struct Replica {
    id: NodeId,
    seq: u64,
}

/// One node's replica of the registry.
#[derive(Debug)]
pub struct Registry {
    local: NodeId,
    own_seq: u64,
    /// Which of our actors hold which names (their claims are in `names`).
    own: own::OwnNames,
    /// Changes to the own entries not yet published.
    held: Vec<Change>,
    /// Whether to report [`RegistryOutput::GroupChanged`].
    group_events: bool,
    replicas: BTreeMap<NodeName, Replica>,
    /// Every name any owner (we or a replicated peer) claims, with each owner's claim; the
    /// first claim is the view's winner.
    names: HashMap<Box<str>, Claims, ViewHasher>,
    groups: groups::GroupIndex,
    outputs: VecDeque<RegistryOutput>,
    /// The live members, as the membership last listed them (for [`relay`]).
    reach: BTreeMap<NodeName, relay::Reach>,
    /// Digest ticks so far (the relay's clock).
    ticks: u64,
    /// The hash of the versions we hold, as of the last tick (see [`relay`]).
    versions_hash: u64,
    /// Owners whose entries we asked a peer for, with the tick we asked at.
    asked: BTreeMap<NodeName, u64>,
}

/// foldhash for the lookup table: its short-string path is several times faster than SipHash
/// and twice as fast as xxHash64 on names, which matters at tens of millions of lookups per
/// second. The seed is fixed so a replica behaves the same in every run (the simulator
/// replays seeds); names come only from authenticated peers, so SipHash's flood resistance
/// buys nothing here.
pub(crate) type ViewHasher = foldhash::fast::FixedState;

impl Registry {
    /// An empty registry for node `local`.
    pub fn new(local: NodeId) -> Self {
        Self {
            local,
            own_seq: 0,
            own: own::OwnNames::default(),
            held: Vec::new(),
            group_events: true,
            replicas: BTreeMap::new(),
            names: HashMap::default(),
            groups: groups::GroupIndex::default(),
            outputs: VecDeque::new(),
            reach: BTreeMap::new(),
            ticks: 0,
            versions_hash: 0,
            asked: BTreeMap::new(),
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
    pub fn group_members(&self, group: &str) -> Vec<Pid> {
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
        if let Some(claims) = self.names.get(name.as_str()) {
            let current = &claims.winner().pid;
            return if *current == pid {
                Ok(())
            } else {
                Err(RegisterError::AlreadyRegistered(current.clone()))
            };
        }
        // Nobody claims the name (the table would hold it), so ours is the winner.
        let registration = Registration { pid, clock: now_us };
        self.own.insert(&registration.pid, &name);
        self.note_group_change(&name, None, Some(&registration.pid));
        self.names
            .insert(name.as_str().into(), Claims::One(registration.clone()));
        self.publish(Change::Put { name, registration });
        Ok(())
    }

    /// Drops this node's registration of `name`; returns the pid that held it.
    pub fn unregister(&mut self, name: &str) -> Option<Pid> {
        let pid = self.own_claim(name)?.pid.clone();
        self.own.remove(&pid, name);
        self.withdraw(name, &self.local.name.clone());
        self.publish(Change::Remove {
            name: name.to_owned(),
        });
        Some(pid)
    }

    /// Drops every name of the local actor `pid` (it stopped); returns them.
    pub fn unregister_pid(&mut self, pid: &Pid) -> Vec<String> {
        let local = self.local.name.clone();
        let names = self.own.take(pid);
        for name in &names {
            self.withdraw(name, &local);
            self.publish(Change::Remove {
                name: name.to_string(),
            });
        }
        names.into_iter().map(String::from).collect()
    }

    /// The actor registered under `name`, from the local view.
    pub fn whereis(&self, name: &str) -> Option<&Pid> {
        self.names.get(name).map(|claims| &claims.winner().pid)
    }

    /// Every name with its winning registration, sorted by name (group memberships are not
    /// names; see [`Registry::groups`]).
    pub fn registered(&self) -> Vec<(String, Registration)> {
        let mut all: Vec<(String, Registration)> = self
            .names
            .iter()
            .filter(|(n, _)| groups::group_of(n).is_none())
            .map(|(n, claims)| (n.to_string(), claims.winner().clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// How many names the view holds.
    pub fn len(&self) -> usize {
        self.names.len() - self.groups.entries()
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
    /// that lost a delta (a partition swallowed it) asks for a snapshot, and what we hold of
    /// others, so a peer without a link to some owner can copy its entries from us
    /// ([`relay`]). Call it every few hundred milliseconds.
    pub fn handle_tick(&mut self) {
        self.flush();
        self.ticks += 1;
        let summary = self.summary();
        self.outputs.push_back(RegistryOutput::Broadcast(summary));
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
        {
            self.replicas.remove(&peer.name);
            self.withdraw_all(&peer.name);
        }
        self.forget_reach(peer);
    }

    /// Membership says member life `down` went down; `routed` is the process this node has a
    /// route to under that name now, if any. The down life's entries vanish as on
    /// [`Registry::handle_peer_down`], unless the routed process is the one whose replica
    /// this node holds: the same process is linked again under a newer life (it rejoined
    /// after a partition) and its entries are current. shoal-node and the simulator both
    /// call this on every `NodeDown`.
    pub fn handle_node_down(&mut self, down: &NodeId, routed: Option<&NodeId>) {
        if routed.is_some() && self.replica_of(&down.name) == routed {
            return;
        }
        self.handle_peer_down(down);
    }

    /// A registry frame arrived from `from`.
    pub fn handle_frame(&mut self, from: &NodeId, frame: RegistryFrame) {
        if from.name == self.local.name || self.is_older_life(from) {
            return;
        }
        match frame {
            RegistryFrame::Digest { seq } => self.handle_digest(from, seq),
            RegistryFrame::Summary { seq, held } => {
                self.handle_digest(from, seq);
                self.handle_summary(from, held);
            }
            RegistryFrame::Versions { owners } => self.handle_versions(from, owners),
            RegistryFrame::RelayRequest { owner } => self.handle_relay_request(from, owner),
            RegistryFrame::Relayed { owner, seq, entries } => self.handle_relayed(owner, seq, entries),
            RegistryFrame::SyncRequest => {
                self.flush();
                let entries = self
                    .own_entries()
                    .map(|(n, r)| (n.to_owned(), r.clone()))
                    .collect();
                let seq = self.own_seq;
                self.send(from, RegistryFrame::Snapshot { seq, entries });
            }
            RegistryFrame::Snapshot { seq, entries } => self.apply_snapshot(from, seq, entries),
            RegistryFrame::Delta { seq, changes } => self.apply_delta(from, seq, changes),
        }
    }

    /// `from`'s own entries are at `seq`: ask for a snapshot unless our copy is there.
    fn handle_digest(&mut self, from: &NodeId, seq: u64) {
        let known = self
            .replicas
            .get(&from.name)
            .filter(|r| r.id == *from)
            .map(|r| r.seq);
        if known != Some(seq) && !(known.is_none() && seq == 0) {
            self.send(from, RegistryFrame::SyncRequest);
        }
    }

    /// Whether `from` is an older life than the replica we hold of that name.
    fn is_older_life(&self, from: &NodeId) -> bool {
        self.replicas
            .get(&from.name)
            .is_some_and(|r| r.id.creation > from.creation)
    }

    /// Replaces `from`'s claims with `entries`: new and changed claims first, then the names
    /// it no longer claims, so a name held throughout never leaves the view.
    fn apply_snapshot(&mut self, from: &NodeId, seq: u64, entries: Vec<(String, Registration)>) {
        self.replicas.insert(
            from.name.clone(),
            Replica {
                id: from.clone(),
                seq,
            },
        );
        let mut stale: HashSet<Box<str>, ViewHasher> = self.claimed_by(&from.name).collect();
        for (name, mut registration) in entries {
            if registration.pid.node == *from {
                registration.pid.node = from.clone(); // share the owner's name
                stale.remove(name.as_str());
                self.put(name.into_boxed_str(), registration);
            }
        }
        for name in stale {
            self.withdraw(&name, &from.name);
        }
    }

    fn apply_delta(&mut self, from: &NodeId, seq: u64, changes: Vec<Change>) {
        let replica = self.replicas.entry(from.name.clone()).or_insert_with(|| Replica {
            id: from.clone(),
            seq: 0,
        });
        if replica.id != *from {
            // A newer life of the owner: start over from its own state.
            replica.id = from.clone();
            replica.seq = 0;
            self.withdraw_all(&from.name);
            return self.send(from, RegistryFrame::SyncRequest);
        }
        if seq <= replica.seq {
            return; // already applied
        }
        if seq != replica.seq + 1 {
            return self.send(from, RegistryFrame::SyncRequest);
        }
        replica.seq = seq;
        let owner = replica.id.clone();
        for change in last_change_per_name(changes) {
            match change {
                Change::Put {
                    name,
                    mut registration,
                } if registration.pid.node == *from => {
                    registration.pid.node = owner.clone(); // share the owner's name
                    self.put(name.into_boxed_str(), registration);
                }
                Change::Put { .. } => {} // an owner only speaks for its own actors
                Change::Remove { name } => self.withdraw(&name, &owner.name),
            }
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

    /// Our own claim on `name`, if we hold it.
    fn own_claim(&self, name: &str) -> Option<&Registration> {
        self.names.get(name)?.of(&self.local.name)
    }

    /// Every name we hold, with our registration.
    fn own_entries(&self) -> impl Iterator<Item = (&str, &Registration)> {
        self.own
            .names()
            .filter_map(|name| Some((name, self.own_claim(name)?)))
    }

    /// The names `owner` claims (a scan of the table: only for a peer's snapshot, restart or
    /// departure).
    fn claimed_by(&self, owner: &NodeName) -> impl Iterator<Item = Box<str>> {
        self.names
            .iter()
            .filter(|(_, claims)| claims.of(owner).is_some())
            .map(|(name, _)| name.clone())
    }

    /// Withdraws every claim of `owner` (a peer that went down or restarted).
    fn withdraw_all(&mut self, owner: &NodeName) {
        let names: Vec<Box<str>> = self.claimed_by(owner).collect();
        for name in names {
            self.withdraw(&name, owner);
        }
    }

    /// Puts a peer's claim on `name`, in place of its previous one, and settles the name.
    fn put(&mut self, name: Box<str>, claim: Registration) {
        match self.names.get_mut(&name) {
            Some(claims) => {
                let old = claims.winner().pid.clone();
                claims.put(claim);
                self.settle(&name, &old);
            }
            None => {
                // The only claim wins: nothing to settle.
                self.note_group_change(&name, None, Some(&claim.pid));
                self.names.insert(name, Claims::One(claim));
            }
        }
    }

    /// Withdraws `owner`'s claim on `name`, if it has one, and settles the name.
    fn withdraw(&mut self, name: &str, owner: &NodeName) {
        let Some(claims) = self.names.get_mut(name) else {
            return;
        };
        let old = claims.winner().pid.clone();
        if claims.withdraw(owner).is_some() {
            self.settle(name, &old);
        }
    }

    /// After the claims on `name` changed (its winner was `old`): drops the name if nobody
    /// claims it; if our own claim lost, drops it and reports the conflict; keeps the group
    /// index on the winner.
    fn settle(&mut self, name: &str, old: &Pid) {
        let Some(claims) = self.names.get_mut(name) else {
            return;
        };
        if claims.is_empty() {
            self.names.remove(name);
            return self.note_group_change(name, Some(old), None);
        }
        let winner = claims.winner().pid.clone();
        if winner.node.name != self.local.name
            && let Some(lost) = claims.withdraw(&self.local.name)
        {
            self.own.remove(&lost.pid, name);
            self.publish(Change::Remove {
                name: name.to_owned(),
            });
            self.outputs.push_back(RegistryOutput::Conflict {
                name: name.to_owned(),
                loser: lost.pid,
                winner: winner.clone(),
            });
        }
        self.note_group_change(name, Some(old), Some(&winner));
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

/// A delta's changes with only the last change to each name kept: a name is settled on the
/// owner's state after the whole delta, so a claim it made and dropped within one delta never
/// beats ours, and a member that left and joined again does not flap.
fn last_change_per_name(mut changes: Vec<Change>) -> Vec<Change> {
    if changes.len() < 2 {
        return changes;
    }
    let mut seen: HashSet<&str, ViewHasher> =
        HashSet::with_capacity_and_hasher(changes.len(), ViewHasher::default());
    let mut last: Vec<bool> = changes.iter().rev().map(|c| seen.insert(c.name())).collect();
    drop(seen);
    if last.iter().all(|&l| l) {
        return changes;
    }
    last.reverse();
    let mut keep = last.into_iter();
    changes.retain(|_| keep.next().unwrap_or(true));
    changes
}

#[cfg(test)]
#[path = "registry_test.rs"]
mod tests;
