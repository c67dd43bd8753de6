//! What the decisions are given: the view of the node now, and the node around them.

use crate::actor_wire::Pid;
use crate::member::Member;
use crate::placement::Placement;
use crate::split_brain::Verdict;

/// What the decisions ask of the node around them.
pub trait Host {
    /// The actor that holds the registered name `id`, if any (on any node).
    fn name_holder(&self, id: &str) -> Option<Pid>;
    /// Whether the state of child `id`, handed over to this node, arrived.
    fn has_handoff(&self, id: &str) -> bool;
    /// The custom placement strategy registered under `name`.
    fn custom_placement(&self, name: &str) -> Option<&dyn Placement>;
}

/// What the node sees now.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// Wall-clock milliseconds (restart times are replicated, so every node must use the same
    /// clock; the simulator passes virtual time).
    pub now_ms: u64,
    /// The live members, this node included.
    pub live: &'a [&'a Member],
    /// The split-brain verdict.
    pub verdict: &'a Verdict,
}
