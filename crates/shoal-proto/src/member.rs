//! The member record that membership gossips: identity plus the metadata peers need.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::node_id::{Creation, NodeId, NodeName};

/// The wire protocol version this build speaks. Raised whenever a frame changes in a way an
/// earlier build cannot read (an earlier build closes a link on a frame it cannot decode, so
/// without the raise a mixed cluster's links would flap): nodes with no common version are
/// refused at the handshake (`HandshakeError::NoCommonProtocol`, both ranges in the log line).
/// 2: registry `Summary`/relay frames, the link's `Retired` frame, child-table entries with
/// an incarnation. 3: `StartKind::HandedOffAfterLoss` in child-table entries.
pub const PROTOCOL_VERSION: u16 = 3;

/// An inclusive range of protocol versions a node can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProtocolRange {
    /// Oldest version spoken.
    pub min: u16,
    /// Newest version spoken.
    pub max: u16,
}

impl ProtocolRange {
    /// The range this build speaks.
    pub const CURRENT: Self = Self {
        min: PROTOCOL_VERSION,
        max: PROTOCOL_VERSION,
    };

    /// The newest version both ranges contain, if any.
    pub fn common(self, other: Self) -> Option<u16> {
        let max = self.max.min(other.max);
        (max >= self.min.max(other.min)).then_some(max)
    }
}

/// One node as the cluster knows it. This is foca's identity type, so everything here travels
/// with every membership update; keep it small. Metadata that changes while a node runs (load)
/// does not belong here.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    /// Name and creation.
    pub id: NodeId,
    /// Address of the node's TCP link listener and UDP gossip socket (the same port).
    pub listen: SocketAddr,
    /// Address of the node's HTTP API, if it serves one.
    pub http: Option<SocketAddr>,
    /// Roles the node was started with (used by placement and singletons).
    pub roles: Vec<String>,
    /// Build version string (`CARGO_PKG_VERSION+hash`).
    pub version: String,
    /// Protocol versions the node speaks.
    pub protocol: ProtocolRange,
    /// When this node process started. `id.creation` grows when the node rejoins as a new
    /// life after being declared down while alive; this does not, so the pids of its actors
    /// (which carry it) stay valid once it is reachable again, as in Erlang.
    pub process: Creation,
}

impl Member {
    /// The node's name.
    pub fn name(&self) -> &NodeName {
        &self.id.name
    }

    /// The identity actor pids carry: the name and the process's creation.
    pub fn process_id(&self) -> NodeId {
        NodeId::new(self.id.name.clone(), self.process)
    }
}

impl foca::Identity for Member {
    type Addr = NodeName;

    /// A node that the cluster declared down (a false suspicion, a partition) comes back as a
    /// new life: same name, creation + 1. Its old life stays down everywhere, so monitors that
    /// fired for it stay true.
    fn renew(&self) -> Option<Self> {
        let mut next = self.clone();
        next.id.creation = Creation(self.id.creation.0.checked_add(1)?);
        Some(next)
    }

    fn addr(&self) -> NodeName {
        self.id.name.clone()
    }

    /// The same name with a higher creation replaces the old member at once. Equal creations
    /// cannot come from one process; the tie goes to the lower listen address so that every
    /// node picks the same one.
    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        (self.id.creation, std::cmp::Reverse(self.listen))
            > (adversary.id.creation, std::cmp::Reverse(adversary.listen))
    }
}

/// A member record on 127.0.0.1 for unit tests.
#[cfg(test)]
pub(crate) fn test_member(name: &str, creation: u64, port: u16) -> Member {
    Member {
        id: NodeId::new(NodeName::new(name).unwrap(), Creation(creation)),
        listen: SocketAddr::from(([127, 0, 0, 1], port)),
        http: None,
        roles: vec![],
        version: "test".into(),
        protocol: ProtocolRange::CURRENT,
        process: Creation(creation),
    }
}

#[cfg(test)]
mod tests {
    use foca::Identity;

    use super::*;

    #[test]
    fn higher_creation_wins_the_name() {
        let old = test_member("n1", 1, 7000);
        let new = test_member("n1", 2, 7001);
        assert!(new.win_addr_conflict(&old));
        assert!(!old.win_addr_conflict(&new));
    }

    #[test]
    fn renewed_identity_beats_the_one_it_renews() {
        let me = test_member("n1", 5, 7000);
        let next = me.renew().unwrap();
        assert!(next.win_addr_conflict(&me));
        assert_eq!(next.addr(), me.addr());
        assert_eq!(
            next.process_id(),
            me.process_id(),
            "pids stay valid across a renewal"
        );
    }

    #[test]
    fn protocol_ranges_agree_on_newest_common_version() {
        let a = ProtocolRange { min: 1, max: 3 };
        let b = ProtocolRange { min: 2, max: 5 };
        assert_eq!(a.common(b), Some(3));
        assert_eq!(a.common(ProtocolRange { min: 4, max: 4 }), None);
    }
}
