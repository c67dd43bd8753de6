//! What the decisions ask the driver to do, and the instances they hand it.

use crate::actor_wire::Pid;
use crate::children::ChildSpec;
use crate::node_id::NodeName;

/// What the driver must do, in order: stops, then handoffs, then starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Stop this instance with `Shutdown`: this node does not own the child (any more).
    Stop {
        /// The child id.
        id: String,
        /// The instance.
        pid: Pid,
    },
    /// Take the instance's state (if its factory can), stop it, wait until it is gone, then
    /// send the state to `to` in a `ChildFrame::Handoff`.
    HandOff {
        /// The child id.
        id: String,
        /// The instance.
        instance: Instance,
        /// The new owner.
        to: NodeName,
    },
    /// Start the child here: from the handed-over state if `handoff_from` is set and the state
    /// arrived, register it under its id, then report [`ChildManager::started`](super::ChildManager::started) (or
    /// [`ChildManager::start_failed`](super::ChildManager::start_failed) if the factory refused; nothing if the name is taken).
    Start {
        /// The child id.
        id: String,
        /// Its spec.
        spec: ChildSpec,
        /// The node it moves from with its state, if it does.
        handoff_from: Option<NodeName>,
    },
}

/// A child instance this node runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// The running actor.
    pub pid: Pid,
    /// The factory it came from (for taking its state on a handoff).
    pub factory: String,
}
