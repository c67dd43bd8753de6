//! The admin token that guards mutating endpoints.
//!
//! Requests carry `Authorization: Bearer <token>`. A node started without a token
//! (`--admin-token`, `SHOAL_ADMIN_TOKEN` or `admin_token` in `shoal.toml`) refuses every
//! mutating request: control is opt-in. The check is one layer, [`require_admin`], on the
//! sub-router that holds every mutating route (`routes` in `lib.rs`), so it runs before any
//! extractor of theirs (a body is not read, a query not parsed, for a request without the
//! token) and no handler can forget it.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Api;
use crate::error::{ApiError, error};

/// The layer (for `axum::middleware::from_fn_with_state`): passes the request on when it
/// carries this node's admin token; else answers 401 (no token sent) or 403 (a wrong one,
/// or the node has none).
pub(crate) async fn require_admin(State(api): State<Api>, request: Request, next: Next) -> Response {
    match check(api.admin_token.as_deref(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// Whether `headers` carry `expected`, the node's token (`None`: it has none).
fn check(expected: Option<&str>, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        return Err(error(
            StatusCode::FORBIDDEN,
            "this node has no admin token; start it with --admin-token or SHOAL_ADMIN_TOKEN",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    match given {
        Some(given) if constant_time_eq(given.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(error(StatusCode::FORBIDDEN, "wrong admin token")),
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "send the node's admin token as `Authorization: Bearer <token>`",
        )),
    }
}

/// The token of an `Authorization: Bearer <token>` value; the scheme's case does not matter
/// (RFC 7235), as curl and browsers may send `bearer`.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim_start())
}

/// Compares without an early exit, so the time taken does not reveal how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_equal_tokens_compare_equal() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }

    #[test]
    fn a_missing_token_is_401_and_a_wrong_one_or_none_configured_403() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            check(Some("t"), &headers).unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
        headers.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(check(Some("t"), &headers).unwrap_err().0, StatusCode::FORBIDDEN);
        assert_eq!(check(None, &headers).unwrap_err().0, StatusCode::FORBIDDEN);
        headers.insert(header::AUTHORIZATION, "Bearer t".parse().unwrap());
        assert!(check(Some("t"), &headers).is_ok());
        headers.insert(header::AUTHORIZATION, "bearer t".parse().unwrap());
        assert!(
            check(Some("t"), &headers).is_ok(),
            "the scheme is case-insensitive"
        );
        headers.insert(header::AUTHORIZATION, "Basic t".parse().unwrap());
        assert_eq!(
            check(Some("t"), &headers).unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
    }
}
