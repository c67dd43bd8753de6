//! One shape for every error: whatever answers a request with an error status (a handler,
//! axum's own 404 and 405, an extractor that refused a path, query or body), the client
//! gets `{"error": "..."}` ([`shoal_api::ErrorBody`]).
//!
//! Handlers answer with [`crate::error::ApiError`] themselves. The layer [`json_errors`]
//! wraps the whole router and rewrites any other error answer: its text becomes the
//! message, or, for an empty body, a message made from the status, method and path. So a
//! new extractor or route cannot bring back a plain-text error.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::error;

/// The longest error text kept from an answer being rewritten, in bytes.
const MAX_TEXT: usize = 16 * 1024;

/// The layer (for `axum::middleware::from_fn`): passes every answer through, except an
/// error answer that is not JSON, which it rewrites as `{"error": "..."}` with the same
/// status.
pub(crate) async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        format!(
            "{method} {path}: {}",
            status.canonical_reason().unwrap_or("error")
        )
    } else {
        text
    };
    let mut rewritten = error(status, message).into_response();
    // Keep what the status needs (`Allow` on a 405), drop the old body's headers.
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        rewritten.headers_mut().insert(header::ALLOW, allow.clone());
    }
    rewritten
}

/// The fallback for a path no route matches: a 404 that says where the endpoints are.
pub(crate) async fn no_route(method: Method, uri: Uri) -> impl IntoResponse {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no endpoint {method} {}; the endpoints are listed in the shoal-http crate docs and the README's \"HTTP API\"",
            uri.path()
        ),
    )
}

/// The fallback for a method a path does not take: a 405 (axum adds the `Allow` header).
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> impl IntoResponse {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

fn is_json(response: &Response<Body>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
