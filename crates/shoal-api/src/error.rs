//! The shape of every HTTP error.

use serde::{Deserialize, Serialize};

/// Every non-2xx answer of the HTTP API, whatever produced it (a handler, an unknown path,
/// a wrong method, a query that does not parse, the admin token check): `{"error": "..."}`,
/// a message that names the value at fault and what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, and the fix.
    pub error: String,
}

impl ErrorBody {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            error: message.into(),
        }
    }
}

impl std::fmt::Display for ErrorBody {
    /// The message alone.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)
    }
}
