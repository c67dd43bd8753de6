//! Fault injection: a network filter that drops every datagram and link frame to and from
//! chosen peers, as a real partition would (connections stay open and go silent). Shared by
//! the driver (gossip, dials) and every link task (frames); costs one atomic load per frame
//! while no partition is set.

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use shoal_proto::{MemberStatus, NodeName};

/// The peers this node is cut off from.
#[derive(Debug, Default)]
pub(crate) struct Chaos {
    active: AtomicBool,
    blocked: RwLock<BTreeSet<NodeName>>,
    /// Listen addresses of blocked peers, as learnt from membership (gossip is filtered by
    /// address). Kept after a peer goes down, so its datagrams stay blocked.
    blocked_addrs: RwLock<HashSet<SocketAddr>>,
}

impl Chaos {
    /// Cuts this node off from `peers` (replacing any earlier set); empty heals.
    pub(crate) fn partition(&self, peers: BTreeSet<NodeName>, members: &[MemberStatus]) {
        let active = !peers.is_empty();
        *write(&self.blocked) = peers;
        write(&self.blocked_addrs).clear();
        self.learn(members);
        self.active.store(active, Ordering::Release);
    }

    /// Records the addresses of blocked peers among `members`.
    pub(crate) fn learn(&self, members: &[MemberStatus]) {
        if !self.active.load(Ordering::Acquire) && read(&self.blocked).is_empty() {
            return;
        }
        let blocked = read(&self.blocked);
        let mut addrs = write(&self.blocked_addrs);
        for m in members.iter().filter(|m| blocked.contains(&m.member.id.name)) {
            addrs.insert(m.member.listen);
        }
    }

    /// The peers cut off, sorted.
    pub(crate) fn blocked(&self) -> Vec<NodeName> {
        read(&self.blocked).iter().cloned().collect()
    }

    /// Whether traffic with `peer` is dropped.
    pub(crate) fn blocks(&self, peer: &NodeName) -> bool {
        self.active.load(Ordering::Acquire) && read(&self.blocked).contains(peer)
    }

    /// Whether traffic with the node listening on `addr` is dropped.
    pub(crate) fn blocks_addr(&self, addr: &SocketAddr) -> bool {
        self.active.load(Ordering::Acquire) && read(&self.blocked_addrs).contains(addr)
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}
