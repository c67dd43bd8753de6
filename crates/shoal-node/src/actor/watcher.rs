//! [`Watcher`]: who is told when an actor stops (a monitor or link on this node or another).

use shoal_proto::NodeId;
use tokio::sync::oneshot;

use super::{ExitReason, MonitorRef};

/// Who to tell when the actor stops.
#[derive(Debug)]
pub(crate) enum Watcher {
    /// A local actor, through its signal lane.
    Actor { id: u64, monitor: MonitorRef },
    /// Code outside any actor ([`super::Actors::monitor`]).
    Channel {
        monitor: MonitorRef,
        tx: oneshot::Sender<ExitReason>,
    },
    /// A watcher on another node, through a `Down` frame.
    Remote { node: NodeId, monitor: u64 },
}

impl Watcher {
    /// The local monitor reference, for watchers on this node.
    pub(crate) fn monitor_ref(&self) -> Option<MonitorRef> {
        match self {
            Self::Actor { monitor, .. } | Self::Channel { monitor, .. } => Some(*monitor),
            Self::Remote { .. } => None,
        }
    }

    /// Whether this is a watcher on `node` (that life or an older one).
    pub(crate) fn is_on(&self, node: &NodeId) -> bool {
        matches!(self, Self::Remote { node: n, .. } if n.name == node.name && n.creation <= node.creation)
    }
}
