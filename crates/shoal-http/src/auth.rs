//! The admin token that guards mutating endpoints.
//!
//! Requests carry `Authorization: Bearer <token>`. A node started without a token
//! (`--admin-token`, `SHOAL_ADMIN_TOKEN` or `admin_token` in `shoal.toml`) refuses every
//! mutating request: control is opt-in.

use axum::http::{HeaderMap, StatusCode, header};

use crate::Api;
use crate::actors::{ApiError, error};

/// Passes when the request carries this node's admin token.
pub(crate) fn require_admin(api: &Api, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = api.admin_token.as_deref() else {
        return Err(error(
            StatusCode::FORBIDDEN,
            "this node has no admin token; start it with --admin-token or SHOAL_ADMIN_TOKEN",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(given) if constant_time_eq(given.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(error(StatusCode::FORBIDDEN, "wrong admin token")),
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "send the node's admin token as `Authorization: Bearer <token>`",
        )),
    }
}

/// Compares without an early exit, so the time taken does not reveal how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn only_equal_tokens_compare_equal() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }
}
