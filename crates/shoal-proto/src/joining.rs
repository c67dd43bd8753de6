//! Whether a node that has just started is still finding its cluster, sans-io.
//!
//! A node whose discovery (seeds, a local directory) knows of peers is *joining* from its
//! start until one of them is a live member, or until every address of discovery's first
//! round failed to link (nobody there: it is alone for real). Until then its view holds
//! only itself: it would call itself the oldest member and its child table empty, so a
//! decision that writes for the cluster (starting a child, seeding) must wait. A node with
//! no discovery, or whose first round found no address, is alone from the start.
//!
//! Call order: [`Joining::handle_proposal`] with each discovery round's addresses (an empty
//! round too), [`Joining::handle_dial_failed`] for each address that could not be linked,
//! and ask [`Joining::is_joining`] with the number of live peers.

use std::collections::BTreeSet;
use std::net::SocketAddr;

/// The state of one node life's search for its cluster. See the module doc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joining {
    /// The addresses of discovery's first round not yet known to have failed; `None` before
    /// that round (only when the node has discovery).
    pending: Option<BTreeSet<SocketAddr>>,
    /// A peer was live once: the node joined (a later loss does not make it joining again).
    joined: bool,
}

impl Joining {
    /// A new node life; `discovers` says whether it has seeds or a discovery directory.
    pub fn new(discovers: bool) -> Self {
        Self {
            pending: (!discovers).then(BTreeSet::new),
            joined: false,
        }
    }

    /// Discovery proposed `addrs` (the node's own address left out). Only the first round
    /// counts: later rounds retry the same places and must not make a lone node wait again.
    pub fn handle_proposal(&mut self, addrs: &[SocketAddr]) {
        if self.pending.is_none() {
            self.pending = Some(addrs.iter().copied().collect());
        }
    }

    /// The dial of `addr` ended without a link (refused, timed out, handshake failed, or
    /// blocked by fault injection).
    pub fn handle_dial_failed(&mut self, addr: SocketAddr) {
        if let Some(pending) = &mut self.pending {
            pending.remove(&addr);
        }
    }

    /// Whether the node is still finding its cluster, given how many peers are live now.
    pub fn is_joining(&mut self, live_peers: usize) -> bool {
        self.joined |= live_peers > 0;
        !self.joined && self.pending.as_ref().is_none_or(|p| !p.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_node_without_discovery_is_alone_from_the_start() {
        assert!(!Joining::new(false).is_joining(0));
    }

    #[test]
    fn a_node_with_discovery_joins_until_its_first_round_answers() {
        let mut j = Joining::new(true);
        assert!(j.is_joining(0), "before the first round");
        j.handle_proposal(&[addr(1), addr(2)]);
        assert!(j.is_joining(0));
        j.handle_dial_failed(addr(1));
        assert!(j.is_joining(0), "one address is left");
        j.handle_proposal(&[addr(3)]);
        j.handle_dial_failed(addr(2));
        assert!(!j.is_joining(0), "every address of the first round failed: alone");
    }

    #[test]
    fn a_live_peer_ends_joining_for_good_and_an_empty_round_means_alone() {
        let mut j = Joining::new(true);
        j.handle_proposal(&[addr(1)]);
        assert!(!j.is_joining(1));
        assert!(!j.is_joining(0), "a later loss does not make it joining again");
        let mut empty = Joining::new(true);
        empty.handle_proposal(&[]);
        assert!(!empty.is_joining(0));
    }
}
