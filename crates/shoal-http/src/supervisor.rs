//! `/api/supervisor`: the distributed supervisor's children, and moving one (an admin route).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use shoal_api::views::{ChildCounts, Migrated, SupervisorView};
use shoal_node::NodeName;
use shoal_node::distributed::{MigrateError, MoveError};

use crate::Api;
use crate::error::{ApiError, error};
use crate::views::child_view;

/// `GET /api/supervisor`: counts, and every child with its owner, pid, restarts and how its
/// instance started, from this node's replica. Written through a `Value`, so every object's
/// keys come sorted, as they always have.
pub(crate) async fn show(State(api): State<Api>) -> Json<Value> {
    let supervisor = api.node.distributed_supervisor();
    let children = supervisor.which_children();
    let mut per_node = std::collections::BTreeMap::<String, usize>::new();
    for child in children.iter().filter(|c| c.pid.is_some()) {
        *per_node.entry(child.owner.to_string()).or_default() += 1;
    }
    let count = supervisor.count();
    let view = SupervisorView {
        children: children.into_iter().map(child_view).collect(),
        counts: ChildCounts {
            specs: count.specs,
            running: count.running,
            failed: count.failed,
            tombstones: count.tombstones,
        },
        running_per_node: per_node,
    };
    // Cannot fail: the view holds strings, numbers and JSON values only.
    Json(serde_json::to_value(view).unwrap_or_default())
}

/// `?id=child&to=node`
#[derive(Debug, Deserialize)]
pub(crate) struct Migrate {
    id: String,
    to: String,
}

/// `POST /api/supervisor/migrate?id=CHILD&to=NODE`: move a child with its state; answers
/// 200 once it runs on the target from its state, 409 if it is moving already, if a
/// concurrent move won, or if the state was lost on the way (the message says which).
pub(crate) async fn migrate(
    State(api): State<Api>,
    Query(query): Query<Migrate>,
) -> Result<Json<Migrated>, ApiError> {
    let to = NodeName::new(query.to).map_err(|e| error(StatusCode::BAD_REQUEST, e.to_string()))?;
    let pid = api
        .node
        .distributed_supervisor()
        .migrate(&query.id, &to)
        .await
        .map_err(|e| {
            let status = match e {
                MigrateError::Refused(MoveError::NotFound(_)) => StatusCode::NOT_FOUND,
                MigrateError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::CONFLICT,
            };
            error(status, e.to_string())
        })?;
    tracing::info!(child = %query.id, %to, %pid, "child migrated through the HTTP API");
    Ok(Json(Migrated {
        id: query.id,
        node: to.to_string(),
        pid: pid.to_string(),
    }))
}
