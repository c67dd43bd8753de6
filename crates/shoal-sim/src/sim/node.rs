//! One node slot: a name that runs one life after another, each with its own membership core.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use shoal_proto::{ConnId, Cookie, Membership, NodeId, NodeName, Registry};

use super::queue::Target;

/// Whether the slot's current process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// Running.
    Running,
    /// Said goodbye and runs until its departure is gossiped, then stops (becomes `Left`).
    Leaving,
    /// Stopped without warning (its sockets closed, nothing listens on its address).
    Crashed,
    /// Left the cluster on purpose, then stopped.
    Left,
}

/// A simulated node: the core plus the little a driver keeps (dials in flight, seeds).
pub(crate) struct SimNode {
    pub(crate) name: NodeName,
    pub(crate) addr: SocketAddr,
    pub(crate) cookie: Cookie,
    /// Nodes with equal groups hold the same cookie.
    pub(crate) cookie_group: u32,
    pub(crate) core: Membership,
    /// Bumped on every restart; events for an older life are stale.
    pub(crate) life: u32,
    pub(crate) state: NodeState,
    /// Names of the nodes this one joins through (resolved to their address every round).
    pub(crate) seeds: Vec<NodeName>,
    /// Addresses being dialled (the driver never dials one address twice at once).
    pub(crate) dialing: BTreeSet<SocketAddr>,
    /// The core timer the queue holds for this node, if any.
    pub(crate) timer_at: Option<Duration>,
    /// Live members as told by this life's `NodeUp`/`NodeDown` events.
    pub(crate) view: BTreeMap<NodeName, NodeId>,
    /// Members of `view` this life reported suspect and not up again since.
    pub(crate) suspects: BTreeSet<NodeId>,
    /// Every id any life of this slot had, oldest first (restarts and renewals).
    pub(crate) ids: Vec<NodeId>,
    /// This process's replica of the global registry (a restart starts a fresh one).
    pub(crate) registry: Registry,
    /// The routes (live, linked peers) the registry was last told about.
    pub(crate) registry_routes: Vec<(NodeId, ConnId)>,
    /// The members of `view` when the registry was last told the live members.
    pub(crate) registry_members: Vec<NodeId>,
    /// When the registry last sent its periodic digest.
    pub(crate) registry_tick: Duration,
    /// This process's distributed supervisor, resolver and singletons.
    pub(crate) supervision: super::supervisor::Supervision,
    /// Whether the process is stopped, and what waits for it.
    pub(crate) pause: super::pause::Pause,
    /// Whether this life is still finding its cluster (as shoal-node's driver tracks it).
    pub(crate) joining: shoal_proto::joining::Joining,
}

impl SimNode {
    /// The slot and life events for this node are addressed to.
    pub(crate) fn target(&self, node: usize) -> Target {
        Target {
            node,
            life: self.life,
        }
    }

    /// Whether `target` names this node's running life.
    pub(crate) fn is(&self, target: Target) -> bool {
        self.is_alive() && self.life == target.life
    }

    /// Whether the node runs and has not begun to leave: a full member.
    pub(crate) fn is_running(&self) -> bool {
        self.state == NodeState::Running
    }

    /// Whether the node's process runs (leaving or not).
    pub(crate) fn is_alive(&self) -> bool {
        matches!(self.state, NodeState::Running | NodeState::Leaving)
    }

    /// The id this life goes by now (grows when the cluster made it renew).
    pub(crate) fn id(&self) -> &NodeId {
        &self.core.local().id
    }
}
