//! Relaying: entries of an owner we have no link to, copied from a peer that holds them.
//!
//! A partition that cuts only some pairs (n2 <-> n3, while both still reach n1) leaves every
//! node alive in every view, since SWIM probes indirectly, yet the owner-to-replica deltas
//! travel on direct links only. So each node also keeps, per owner, the *version* of the
//! entries it holds: the owner's process identity and sequence number. Versions only grow,
//! and an owner's entries at one version are the same wherever they are held, so a copy of
//! them can travel through any node and a newer version always wins.
//!
//! Rules, all in this core so shoal-node and the simulator share them:
//! 1. Every digest tick a node sends each linked peer a [`RegistryFrame::Summary`]: its own
//!    sequence number and one hash of the versions of every owner it holds (itself
//!    included). Equal hashes (a settled cluster) cost nothing more.
//! 2. A node whose hash differs answers with its [`RegistryFrame::Versions`], one line per
//!    owner: the cost of a difference is a list as long as the cluster, not its names.
//! 3. A node reading a peer's versions asks it ([`RegistryFrame::RelayRequest`]) for the
//!    entries of an owner only if that owner is a live member in its own membership view,
//!    it has **no link** to it (a linked owner repairs itself through digests and deltas),
//!    and the peer's version is newer than its own; at most one ask per owner within
//!    [`RELAY_RETRY_TICKS`] ticks, whichever peers offer it.
//! 4. The peer answers with its copy ([`RegistryFrame::Relayed`]); the asker applies it as
//!    the owner's snapshot if the owner is still a live member with that process identity
//!    and the version is still newer than its own. Unregistrations travel the same way: the
//!    copy replaces the whole replica.
//! 5. The owner-down rule is unchanged: when the membership declares the owner down, its
//!    entries go, and rule 4 refuses copies of it until the membership lists that process
//!    alive again (a renewal after a false suspicion keeps the process identity).

use super::{Registration, Registry, RegistryFrame, Replica};
use crate::membership::MemberStatus;
use crate::node_id::NodeId;
use std::hash::BuildHasher;

/// Ticks after asking for an owner's entries before asking again (at the 500 ms digest
/// interval, a second): an answer in flight is not asked for twice.
pub const RELAY_RETRY_TICKS: u64 = 2;

/// What the membership says about one member, as the relay rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reach {
    /// The membership life.
    life: NodeId,
    /// The process identity its pids (and our replica of it) carry.
    process: NodeId,
    /// Whether we hold a link to it.
    linked: bool,
}

impl Registry {
    /// The live members as the membership lists them now (call it whenever they or their
    /// links change): the relay rules copy entries only of live owners we have no link to.
    pub fn handle_members(&mut self, members: &[MemberStatus]) {
        self.reach = members
            .iter()
            .map(|status| {
                let reach = Reach {
                    life: status.member.id.clone(),
                    process: status.member.process_id(),
                    linked: status.linked,
                };
                (status.member.id.name.clone(), reach)
            })
            .collect();
        let reach = &self.reach;
        self.asked.retain(|name, _| reach.contains_key(name));
    }

    /// The membership life `peer` went down: until the membership lists the name alive
    /// again, its entries are not taken from other nodes.
    pub(super) fn forget_reach(&mut self, peer: &NodeId) {
        if self
            .reach
            .get(&peer.name)
            .is_some_and(|r| r.life.creation <= peer.creation)
        {
            self.reach.remove(&peer.name);
        }
    }

    /// Rule 1: the periodic summary of what we hold. The hash is computed here, once per
    /// tick, and peers' summaries are compared with it until the next tick: a change since
    /// then costs at most a tick's delay, never a lost difference.
    pub(super) fn summary(&mut self) -> RegistryFrame {
        self.versions_hash = self.held_hash();
        RegistryFrame::Summary {
            seq: self.own_seq,
            held: self.versions_hash,
        }
    }

    /// Rule 2: a peer's summary of what it holds differs from ours; tell it our versions.
    pub(super) fn handle_summary(&mut self, from: &NodeId, held: u64) {
        if held != self.versions_hash {
            let owners = self.versions().collect();
            self.send(from, RegistryFrame::Versions { owners });
        }
    }

    /// Rule 3: ask `from` for the entries of each owner it holds newer than we do and we
    /// cannot hear from directly.
    pub(super) fn handle_versions(&mut self, from: &NodeId, owners: Vec<(NodeId, u64)>) {
        for (owner, seq) in owners {
            if self.wants_relay(from, &owner, seq) {
                self.asked.insert(owner.name.clone(), self.ticks);
                self.send(from, RegistryFrame::RelayRequest { owner });
            }
        }
    }

    /// Rule 4, the holder's side: send our copy of `owner`'s entries, if we hold that life.
    pub(super) fn handle_relay_request(&mut self, from: &NodeId, owner: NodeId) {
        let Some(seq) = self
            .replicas
            .get(&owner.name)
            .filter(|r| r.id == owner)
            .map(|r| r.seq)
        else {
            return;
        };
        let entries = self
            .names
            .iter()
            .filter_map(|(name, claims)| Some((name.to_string(), claims.of(&owner.name)?.clone())))
            .collect();
        self.send(from, RegistryFrame::Relayed { owner, seq, entries });
    }

    /// Rule 4, the asker's side: take a relayed copy of `owner`'s entries if the owner is a
    /// live member with that process identity and the copy is newer than ours.
    pub(super) fn handle_relayed(&mut self, owner: NodeId, seq: u64, entries: Vec<(String, Registration)>) {
        self.asked.remove(&owner.name);
        let live = self.reach.get(&owner.name).is_some_and(|r| r.process == owner);
        if live && owner.name != self.local.name && self.is_newer(&owner, seq) {
            self.apply_snapshot(&owner, seq, entries);
        }
    }

    fn wants_relay(&self, via: &NodeId, owner: &NodeId, seq: u64) -> bool {
        if owner.name == self.local.name || owner.name == via.name {
            return false;
        }
        let unlinked_live = self
            .reach
            .get(&owner.name)
            .is_some_and(|r| r.process == *owner && !r.linked);
        let asked_lately = self
            .asked
            .get(&owner.name)
            .is_some_and(|&at| self.ticks < at + RELAY_RETRY_TICKS);
        unlinked_live && !asked_lately && self.is_newer(owner, seq)
    }

    /// Whether `owner`'s entries at `seq` are newer than our copy (a later process, or the
    /// same process further on).
    fn is_newer(&self, owner: &NodeId, seq: u64) -> bool {
        match self.replicas.get(&owner.name) {
            None => seq > 0,
            Some(Replica { id, seq: ours }) => (owner.creation, seq) > (id.creation, *ours),
        }
    }

    /// The version of every owner we hold entries of, ourselves included (owners at
    /// sequence number 0 have never held any and are left out).
    fn versions(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        let own = (self.own_seq > 0).then(|| (self.local.clone(), self.own_seq));
        let replicas = self
            .replicas
            .values()
            .filter(|r| r.seq > 0)
            .map(|r| (r.id.clone(), r.seq));
        own.into_iter().chain(replicas)
    }

    /// One hash of [`Registry::versions`], independent of their order: nodes that hold the
    /// same versions of the same owners have the same hash.
    fn held_hash(&self) -> u64 {
        let hasher = super::ViewHasher::default();
        self.versions()
            .map(|version| hasher.hash_one(&version))
            .fold(0, u64::wrapping_add)
    }
}

#[cfg(test)]
#[path = "relay_test.rs"]
mod tests;
