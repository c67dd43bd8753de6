//! [`NotReady`]: why a node does not count as ready ([`Node::ready`](crate::Node::ready)),
//! the answer behind an orchestrator's readiness probe.

/// Why a node is not ready to serve as a member of its cluster.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotReady {
    /// The node has stopped (or is stopping).
    #[error("the node has stopped")]
    Stopped,
    /// The node is leaving the cluster ([`Node::leave`](crate::Node::leave)).
    #[error("the node is leaving the cluster")]
    Leaving,
    /// Discovery knows of peers, none is live yet and not all of them failed: the node is
    /// still finding its cluster.
    #[error("the node is still joining: discovery knows of peers but none is live yet")]
    Joining,
    /// Fewer live members (this node included) than asked for.
    #[error("{live} live member(s), this node included; at least {min} needed")]
    TooFewMembers {
        /// Live members this node sees, itself included.
        live: usize,
        /// The minimum asked for.
        min: usize,
    },
    /// The split-brain resolver isolated this node's side of a partition.
    #[error("the split-brain resolver isolated this node's side of a partition")]
    Isolated,
}
