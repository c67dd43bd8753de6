//! The registry and the process groups.

use serde::{Deserialize, Serialize};

use super::PidView;

/// One entry of `GET /api/registry`: a registered name in the answering node's replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryEntry {
    /// The name.
    pub name: String,
    /// The actor holding it.
    pub pid: PidView,
    /// `<id>@<node>`.
    pub pid_text: String,
    /// When it was registered, µs since the Unix epoch (the conflict rule's first key).
    pub registered_at_us: u64,
}

/// One entry of `GET /api/groups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    /// The group.
    pub group: String,
    /// Its members on every node, as `<id>@<node>`, sorted.
    pub members: Vec<String>,
}
