//! Errors of the sans-io core.

/// A configuration value is out of range or malformed. The message names the value and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field} {value:?}: {fix}")]
pub struct ConfigError {
    /// Which setting.
    pub field: String,
    /// The offending value as given.
    pub value: String,
    /// What to do instead.
    pub fix: String,
}

impl ConfigError {
    /// Builds an error for `field` holding `value`.
    pub fn invalid(field: &str, value: &str, fix: &str) -> Self {
        Self {
            field: field.into(),
            value: value.into(),
            fix: fix.into(),
        }
    }
}
