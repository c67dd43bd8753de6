//! `GET /api/registry`: this node's view of the global registry.

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
