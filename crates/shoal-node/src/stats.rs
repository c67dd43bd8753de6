//! [`NodeStats`]: the node's counters of refused input, as `/api/node` shows them.

use serde::Serialize;
use shoal_proto::MembershipStats;

/// A snapshot of refused input, for `/api/node` and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeStats {
    /// Link frames that did not decode (the connection was closed).
    pub bad_frames: u64,
    /// Link frames over the maximum length (the connection was closed).
    pub oversized_frames: u64,
    /// Handshakes that failed (wrong cookie, garbage, timeout).
    pub handshake_failures: u64,
    /// Connections closed at once because too many handshakes were already in progress.
    pub handshakes_shed: u64,
    /// Actor messages from peers that this node refused (no such actor, wrong type, a body
    /// that does not decode, a full mailbox); each was answered with a refusal.
    pub actor_messages_refused: u64,
    /// Refusals peers sent back for this node's one-way sends.
    pub actor_sends_refused_by_peers: u64,
    /// Actor frames received from peers.
    pub actor_frames_received: u64,
    /// Gossip counters.
    #[serde(flatten)]
    pub membership: MembershipStats,
}
