//! `/api/chaos`: fault injection (needs the admin token).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Api;
use crate::actors::{ApiError, error};
use crate::auth::require_admin;
use crate::params::parse_peers;

/// `?peers=n2,n3`
#[derive(Debug, Deserialize)]
pub(crate) struct Peers {
    peers: String,
}

/// `GET /api/chaos`: the peers this node is partitioned from.
pub(crate) async fn show(State(api): State<Api>) -> Json<Value> {
    Json(state(&api))
}

/// `POST /api/chaos/partition?peers=a,b`: drop all traffic to and from those peers.
pub(crate) async fn partition(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(query): Query<Peers>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&api, &headers)?;
    let peers = parse_peers(&query.peers).map_err(|e| error(StatusCode::BAD_REQUEST, e.to_string()))?;
    api.node.partition_from(peers);
    Ok(Json(state(&api)))
}

/// `POST /api/chaos/heal`: end the partition.
pub(crate) async fn heal(State(api): State<Api>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    require_admin(&api, &headers)?;
    api.node.heal();
    Ok(Json(state(&api)))
}

fn state(api: &Api) -> Value {
    let peers: Vec<String> = api
        .node
        .partitioned_from()
        .iter()
        .map(ToString::to_string)
        .collect();
    json!({ "partitioned_from": peers })
}
