//! The error answer every handler gives.

use axum::Json;
use axum::http::StatusCode;
use shoal_api::ErrorBody;

/// An error answer: `{"error": "..."}` ([`ErrorBody`]) with a 4xx or 5xx status.
pub(crate) type ApiError = (StatusCode, Json<ErrorBody>);

/// The error answer with `status` and `message` (which names the value and the fix).
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> ApiError {
    (status, Json(ErrorBody::new(message)))
}
