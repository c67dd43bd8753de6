//! `GET`/`POST /api/nodes/{node}/{*path}`: a request for member `node`'s API, forwarded to
//! that member's HTTP address as `/api/{path}` with its query, its body (at most 64 KiB)
//! and its `Authorization` header; the member's answer comes back as it gave it. The
//! dashboard acts on any node's actors through the one node it reached.
//!
//! A member that is not live to this node (the other side of a partition, one that went
//! down) is asked at the last HTTP address this node saw it at, so the dashboard can heal a
//! partition from either side; if it is gone, the request fails with why.
//!
//! The proxy decides nothing: the member checks the token (401/403 as if asked directly),
//! so this route sits with the open ones even though a `POST` through it mutates. It does
//! not forward to `/api/nodes/...` or `/api/cluster...` (no chains, no fan-out from a
//! fan-out).

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::Api;
use crate::cluster::targets;
use crate::error::{ApiError, error};
use crate::peer;

/// How long the proxy waits for the member (a call may take up to its own 60 s limit).
const DEADLINE: Duration = Duration::from_secs(65);

/// Forwards the request; see the module docs.
pub(crate) async fn forward(
    State(api): State<Api>,
    Path((node, _)): Path<(String, String)>,
    uri: Uri,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // The rest of the path as the client sent it (still percent-encoded), so the member
    // reads exactly what a direct request would carry.
    let path = uri.path().splitn(5, '/').nth(4).unwrap_or_default().to_owned();
    let query = uri.query().map(str::to_owned);
    if path.starts_with("nodes") || path.starts_with("cluster") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!(
                "/api/nodes/{node}/{path}: the proxy forwards a member's own endpoints, not /api/nodes or /api/cluster"
            ),
        ));
    }
    let addr = match targets(&api).into_iter().find(|t| t.name == node) {
        Some(target) => target.http.ok_or_else(|| {
            error(
                StatusCode::BAD_GATEWAY,
                format!("member {node} serves no HTTP API (it was started without an HTTP address)"),
            )
        })?,
        // Not live here (cut off by a partition, or gone): its last address, if any.
        None => api.seen.get(&node).ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                format!("no live member named {node}; see /api/members for the live ones"),
            )
        })?,
    };
    let path = match query {
        Some(q) => format!("/api/{path}?{q}"),
        None => format!("/api/{path}"),
    };
    let body = crate::message::read_body(body).await?;
    let bearer = headers.get(header::AUTHORIZATION).cloned();
    let answer = peer::request(addr, method, &path, bearer, body, DEADLINE)
        .await
        .map_err(|e| error(StatusCode::BAD_GATEWAY, format!("member {node}: {e}")))?;
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = answer.status;
    if let Some(ct) = answer.content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    Ok(response.into_response())
}
