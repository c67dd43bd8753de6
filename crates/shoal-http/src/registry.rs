//! `GET /api/registry` and `GET /api/groups`: this node's view of the global registry and of
//! the process groups.

use axum::Json;
use axum::extract::State;
use shoal_api::views::{GroupView, RegistryEntry};

use crate::Api;
use crate::views::pid_view;

/// `GET /api/registry`: every name in this node's replica.
pub(crate) async fn list(State(api): State<Api>) -> Json<Vec<RegistryEntry>> {
    let entries = api
        .node
        .actors()
        .registered()
        .into_iter()
        .map(|(name, r)| RegistryEntry {
            name,
            pid_text: r.pid.to_string(),
            pid: pid_view(&r.pid),
            registered_at_us: r.clock,
        })
        .collect();
    Json(entries)
}

/// `GET /api/groups`: every process group with its members.
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
