//! `/api/chaos`: fault injection (`partition` and `heal` are admin routes).
//!
//! A request may carry `deadline_ms` (ms since the Unix epoch): one handled after it is
//! refused with `409 Conflict` and changes nothing. `shoal cluster partition` and `heal` set
//! it a little before they stop waiting for the answer, so a node that was paused (SIGSTOP)
//! when the request came does not apply it on resume, long after the command reported that
//! node as not answering.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use shoal_api::views::ChaosView;

use crate::Api;
use crate::error::{ApiError, error};
use crate::params::parse_peers;

/// `?peers=n2,n3[&deadline_ms=T]`
#[derive(Debug, Deserialize)]
pub(crate) struct Peers {
    peers: String,
    deadline_ms: Option<u64>,
}

/// `?deadline_ms=T`, optional.
#[derive(Debug, Deserialize)]
pub(crate) struct Deadline {
    deadline_ms: Option<u64>,
}

/// `GET /api/chaos`: the peers this node is partitioned from.
pub(crate) async fn show(State(api): State<Api>) -> Json<ChaosView> {
    Json(state(&api))
}

/// `POST /api/chaos/partition?peers=a,b[&deadline_ms=T]`: drop all traffic to and from
/// those peers.
pub(crate) async fn partition(
    State(api): State<Api>,
    Query(query): Query<Peers>,
) -> Result<Json<ChaosView>, ApiError> {
    let peers = parse_peers(&query.peers).map_err(|e| error(StatusCode::BAD_REQUEST, e.to_string()))?;
    in_time(query.deadline_ms, shoal_node::now_us() / 1000, "partition")?;
    api.node.partition_from(peers);
    Ok(Json(state(&api)))
}

/// `POST /api/chaos/heal[?deadline_ms=T]`: end the partition.
pub(crate) async fn heal(
    State(api): State<Api>,
    Query(query): Query<Deadline>,
) -> Result<Json<ChaosView>, ApiError> {
    in_time(query.deadline_ms, shoal_node::now_us() / 1000, "heal")?;
    api.node.heal();
    Ok(Json(state(&api)))
}

/// Refuses a request handled at `now_ms`, after its `deadline_ms`.
fn in_time(deadline_ms: Option<u64>, now_ms: u64, what: &str) -> Result<(), ApiError> {
    match deadline_ms {
        Some(deadline) if now_ms > deadline => {
            tracing::warn!(
                deadline_ms = deadline,
                late_ms = now_ms - deadline,
                "a {what} request arrived after its deadline (was this node paused?); not applied"
            );
            Err(error(
                StatusCode::CONFLICT,
                format!(
                    "this {what} request's deadline_ms {deadline} passed {} ms before it was handled \
                     (was this node paused?); nothing was changed: send it again",
                    now_ms - deadline
                ),
            ))
        }
        _ => Ok(()),
    }
}

fn state(api: &Api) -> ChaosView {
    ChaosView {
        partitioned_from: api
            .node
            .partitioned_from()
            .iter()
            .map(ToString::to_string)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::in_time;

    #[test]
    fn a_request_handled_after_its_deadline_is_refused() {
        assert!(in_time(None, 5, "heal").is_ok());
        assert!(in_time(Some(5), 5, "heal").is_ok());
        let (status, body) = in_time(Some(5), 9, "partition").unwrap_err();
        assert_eq!(status, axum::http::StatusCode::CONFLICT);
        assert!(body.0.to_string().contains("4 ms"), "{}", body.0);
    }
}
