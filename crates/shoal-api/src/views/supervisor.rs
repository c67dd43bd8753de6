//! The distributed supervisor.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::PidView;

/// `GET /api/supervisor`: the answering node's replica of the child table.
///
/// The server writes it with every object's keys sorted, as it always has (through a
/// `serde_json::Value`); readers need not care.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisorView {
    /// Every child, by id.
    pub children: Vec<ChildView>,
    /// Counts (tombstones included).
    pub counts: ChildCounts,
    /// Children with a running instance, per owner.
    pub running_per_node: BTreeMap<String, usize>,
}

/// Counts of a replica's child table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildCounts {
    /// Child specs in the table.
    pub specs: usize,
    /// Children with a running instance.
    pub running: usize,
    /// Children given up after too many restarts.
    pub failed: usize,
    /// Removed children whose tombstones this replica still holds.
    pub tombstones: usize,
}

/// One child (`shoal_node::distributed::ChildInfo`).
///
/// `last_start` and `failed` are the supervisor's own enums (`StartKind`, `ExitReason`) as
/// serde writes them: a unit variant is a string (`"Fresh"`), any other an object with one
/// key, the variant, holding its fields (`{"HandedOff": {"from": "n3"}}`). They stay JSON
/// here rather than copies of the supervisor's types; [`ChildView::last_start_kind`] names
/// the variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildView {
    /// The child id (its registered name).
    pub id: String,
    /// Its factory.
    pub factory: String,
    /// Restart type: `Permanent`, `Transient` or `Temporary`.
    pub restart: String,
    /// The node that runs it (or will).
    pub owner: String,
    /// The running instance, if the registry knows one.
    pub pid: Option<PidView>,
    /// Restarts so far.
    pub restarts: u32,
    /// How the current instance started (`StartKind`).
    pub last_start: serde_json::Value,
    /// Whether the current instance kept its state.
    pub state_kept: bool,
    /// Whether it is moving to its owner with its state right now.
    pub moving: bool,
    /// Set if it was given up (`ExitReason`).
    pub failed: Option<serde_json::Value>,
}

impl ChildView {
    /// The variant of `last_start`: `Fresh`, `Restarted`, `FailedOver`, `HandedOff`, ...
    pub fn last_start_kind(&self) -> &str {
        match &self.last_start {
            serde_json::Value::String(name) => name,
            serde_json::Value::Object(map) => map.keys().next().map_or("?", String::as_str),
            _ => "?",
        }
    }

    /// Whether an instance runs (a pid), or it was given up: either way nothing is pending.
    pub fn is_settled(&self) -> bool {
        self.pid.is_some() || self.failed.is_some()
    }
}
