//! `GET /api/registry` and `GET /api/groups`: this node's view of the global registry and of
//! the process groups.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use shoal_node::actor::Pid;

use crate::Api;

/// One registered name.
#[derive(Debug, Serialize)]
pub struct RegistryEntry {
    /// The name.
    pub name: String,
    /// The actor holding it.
    pub pid: Pid,
    /// `<id>@<node>`.
    pub pid_text: String,
    /// When it was registered, µs since the Unix epoch (the conflict rule's first key).
    pub registered_at_us: u64,
}

pub(crate) async fn list(State(api): State<Api>) -> Json<Vec<RegistryEntry>> {
    let entries = api
        .node
        .actors()
        .registered()
        .into_iter()
        .map(|(name, r)| RegistryEntry {
            name,
            pid_text: r.pid.to_string(),
            pid: r.pid,
            registered_at_us: r.clock,
        })
        .collect();
    Json(entries)
}

/// One process group.
#[derive(Debug, Serialize)]
pub struct GroupView {
    /// The group.
    pub group: String,
    /// Its members on every node, as `<id>@<node>`, sorted.
    pub members: Vec<String>,
}

pub(crate) async fn groups(State(api): State<Api>) -> Json<Vec<GroupView>> {
    let actors = api.node.actors();
    let groups = actors
        .groups()
        .into_iter()
        .map(|(group, _)| GroupView {
            members: actors
                .group_members(&group)
                .iter()
                .map(ToString::to_string)
                .collect(),
            group,
        })
        .collect();
    Json(groups)
}
