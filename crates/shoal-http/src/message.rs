//! `POST /api/actors/{pid}/send` and `POST /api/actors/{pid}/call`: deliver the JSON form of
//! a message to a local actor that accepts JSON (`Actor::json`), as an operator would from
//! `iex`. Both are admin routes (the token is checked before the body is read); the body is
//! bounded by [`MAX_BODY`].

use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::Value;
use shoal_api::views::{CallReply, Sent};
use shoal_node::actor::{CallError, JsonError, Pid, SendError};

use crate::Api;
use crate::actors::local_pid;
use crate::error::{ApiError, error};

/// The largest body accepted, in bytes: an operator's message, not a bulk upload.
pub(crate) const MAX_BODY: usize = 64 * 1024;
/// How long the whole body may take to arrive once the head has: a client that declares more
/// than it sends holds a connection no longer than this.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a call waits for its reply unless `?timeout_ms=` says otherwise.
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest `?timeout_ms=` allowed.
const MAX_CALL_TIMEOUT_MS: u64 = 60_000;

/// `POST /api/actors/{pid}/send` with a JSON body: queues it for the actor as its `Msg`.
/// Answers `{"sent": pid}`; see [`status_of`] for the errors.
pub(crate) async fn send(
    State(api): State<Api>,
    Path(pid): Path<String>,
    body: Body,
) -> Result<Json<Sent>, ApiError> {
    let pid = local_pid(&api, &pid)?;
    let msg = read_json(body).await?;
    api.node
        .actors()
        .send_json(&pid, msg)
        .map_err(|e| refused(&pid, &e))?;
    tracing::info!(%pid, "JSON message sent through the HTTP API");
    Ok(Json(Sent {
        sent: pid.to_string(),
    }))
}

/// `POST /api/actors/{pid}/call[?timeout_ms=T]` with a JSON body: calls the actor with it
/// as its `Call` and answers `{"pid", "reply"}`, waiting at most `T` ms (default 5000, at
/// most 60000; 504 past it). See [`status_of`] for the other errors.
pub(crate) async fn call(
    State(api): State<Api>,
    Path(pid): Path<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Json<CallReply>, ApiError> {
    let pid = local_pid(&api, &pid)?;
    let timeout = call_timeout(query.as_deref())?;
    let call = read_json(body).await?;
    let reply = api
        .node
        .actors()
        .call_json(&pid, call, timeout)
        .await
        .map_err(|e| refused(&pid, &e))?;
    tracing::info!(%pid, "JSON call answered through the HTTP API");
    Ok(Json(CallReply {
        pid: pid.to_string(),
        reply,
    }))
}

/// Reads at most [`MAX_BODY`] bytes, within [`BODY_TIMEOUT`], and parses them as one JSON
/// value: 413 past the limit (at once when `Content-Length` says so), 408 when the body does
/// not arrive in time, 400 for an empty body or text that is not JSON.
async fn read_json(body: Body) -> Result<Value, ApiError> {
    read_json_within(body, BODY_TIMEOUT).await
}

async fn read_json_within(body: Body, within: Duration) -> Result<Value, ApiError> {
    let bytes = read_body_within(body, within).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "the body is empty: send the message as JSON, e.g. {\"Add\": 1} or \"Get\"",
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("the body is not JSON: {e}")))
}

/// Reads at most [`MAX_BODY`] bytes within [`BODY_TIMEOUT`]: 413 past the limit, 408 late.
pub(crate) async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    read_body_within(body, BODY_TIMEOUT).await
}

async fn read_body_within(body: Body, within: Duration) -> Result<Bytes, ApiError> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the message is over {MAX_BODY} bytes (or the body was cut off); nothing was delivered"),
        )
    };
    if axum::body::HttpBody::size_hint(&body).lower() > MAX_BODY as u64 {
        return Err(too_large());
    }
    let bytes: Bytes = match tokio::time::timeout(within, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(read) => read.map_err(|_| too_large())?,
        Err(_) => {
            let why = format!(
                "the body did not arrive within {} s (is Content-Length right?); nothing was delivered",
                within.as_secs()
            );
            return Err(error(StatusCode::REQUEST_TIMEOUT, why));
        }
    };
    Ok(bytes)
}

/// The call timeout from the raw query: `timeout_ms=N`, 1..=60000; nothing else is known.
fn call_timeout(query: Option<&str>) -> Result<Duration, ApiError> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(DEFAULT_CALL_TIMEOUT);
    };
    let bad = || {
        error(
            StatusCode::BAD_REQUEST,
            format!("bad query {query:?}: the only parameter is timeout_ms=N, 1 to {MAX_CALL_TIMEOUT_MS}"),
        )
    };
    let ms: u64 = query
        .strip_prefix("timeout_ms=")
        .and_then(|n| n.parse().ok())
        .filter(|ms| (1..=MAX_CALL_TIMEOUT_MS).contains(ms))
        .ok_or_else(bad)?;
    Ok(Duration::from_millis(ms))
}

/// The answer to a send or call that failed.
fn refused(pid: &Pid, e: &JsonError) -> ApiError {
    let message = match e {
        JsonError::NoProc => format!("no actor {pid} on this node"),
        other => format!("actor {pid}: {other}"),
    };
    error(status_of(e), message)
}

/// 404: no such actor, or one that does not accept JSON; 400: JSON that does not decode as
/// the actor's type; 503: its mailbox is full; 504: no reply in time; 500: it stopped
/// before replying, or its reply did not encode.
fn status_of(e: &JsonError) -> StatusCode {
    match e {
        JsonError::NoProc | JsonError::NotAccepted { .. } => StatusCode::NOT_FOUND,
        JsonError::Decode { .. } => StatusCode::BAD_REQUEST,
        JsonError::NotDelivered(SendError::MailboxFull)
        | JsonError::Call(CallError::NotDelivered(SendError::MailboxFull)) => StatusCode::SERVICE_UNAVAILABLE,
        JsonError::NotDelivered(_) => StatusCode::NOT_FOUND,
        JsonError::Call(CallError::Timeout(_)) => StatusCode::GATEWAY_TIMEOUT,
        JsonError::Call(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_timeout_is_bounded_and_defaults_to_five_seconds() {
        assert_eq!(call_timeout(None).unwrap(), DEFAULT_CALL_TIMEOUT);
        assert_eq!(call_timeout(Some("")).unwrap(), DEFAULT_CALL_TIMEOUT);
        assert_eq!(
            call_timeout(Some("timeout_ms=250")).unwrap(),
            Duration::from_millis(250)
        );
        for bad in ["timeout_ms=0", "timeout_ms=60001", "timeout_ms=x", "t=1"] {
            let (status, body) = call_timeout(Some(bad)).unwrap_err();
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
            assert!(body.0.to_string().contains("timeout_ms"), "{}", body.0);
        }
    }

    #[test]
    fn errors_map_to_statuses() {
        let decode = JsonError::Decode {
            expected: "CounterMsg",
            message: "unknown variant".into(),
        };
        assert_eq!(status_of(&decode), StatusCode::BAD_REQUEST);
        assert_eq!(status_of(&JsonError::NoProc), StatusCode::NOT_FOUND);
        let not_json = JsonError::NotAccepted { actor_type: "Echo" };
        assert_eq!(status_of(&not_json), StatusCode::NOT_FOUND);
        let late = JsonError::Call(CallError::Timeout(Duration::from_secs(1)));
        assert_eq!(status_of(&late), StatusCode::GATEWAY_TIMEOUT);
        let full = JsonError::NotDelivered(SendError::MailboxFull);
        assert_eq!(status_of(&full), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn bodies_over_the_limit_or_not_json_are_refused_clearly() {
        let big = Body::from(vec![b' '; MAX_BODY + 1]);
        assert_eq!(read_json(big).await.unwrap_err().0, StatusCode::PAYLOAD_TOO_LARGE);
        let (status, body) = read_json(Body::from("{\"Add\":")).await.unwrap_err();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.0.to_string().contains("not JSON"), "{}", body.0);
        let (status, _) = read_json(Body::from("  ")).await.unwrap_err();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            read_json(Body::from("\"Get\"")).await.unwrap(),
            serde_json::json!("Get")
        );
    }

    #[tokio::test]
    async fn a_body_that_never_arrives_is_a_408_and_an_announced_oversize_a_413_at_once() {
        let never = Body::from_stream(futures_util::stream::pending::<Result<Bytes, std::io::Error>>());
        let (status, body) = read_json_within(never, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
        assert!(body.0.to_string().contains("did not arrive"), "{}", body.0);
        let large = Body::from(vec![b' '; MAX_BODY + 1]);
        let (status, _) = read_json_within(large, Duration::from_secs(60))
            .await
            .unwrap_err();
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
