//! [`Snapshot`]: the membership view the driver publishes, read by the node's services
//! (singletons, the split-brain resolver, the distributed supervisor, discovery).

use shoal_proto::{Member, MemberStatus, MembershipStats};

/// What the driver publishes after each batch of work.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// This node as the cluster knows it.
    pub local: Member,
    /// Live peers, sorted by name.
    pub members: Vec<MemberStatus>,
    /// Gossip counters.
    pub stats: MembershipStats,
    /// This life is still finding its cluster: its discovery knows of peers, none is live
    /// yet and not all of them failed (see [`shoal_proto::joining::Joining`]). While it
    /// is, the node writes no new child.
    pub joining: bool,
}
