//! What can go wrong in a simulation: a bad command, or a broken invariant.

use std::fmt;
use std::time::Duration;

/// A rule of the membership protocol that some node broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Virtual time of the offending step.
    pub at: Duration,
    /// The node whose state or events broke the rule.
    pub node: String,
    /// The rule, as a short sentence.
    pub rule: &'static str,
    /// What was seen.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at {:?} on {}: {} ({})",
            self.at, self.node, self.rule, self.detail
        )
    }
}

/// A simulation step or command failed. The simulation may go on after a command error; after
/// a violation its state is suspect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimError {
    /// No node slot has this name; add it first.
    UnknownNode(String),
    /// A node slot with this name exists; restart it instead of adding it again.
    DuplicateNode(String),
    /// The command needs a running node, and this one is stopped; restart it first.
    NotRunning(String),
    /// The command needs a stopped node, and this one runs; crash or leave first.
    StillRunning(String),
    /// The name is not a valid node name.
    BadName(String),
    /// A cookie in the [`crate::SimConfig`] is empty or longer than 1024 bytes.
    BadCookie,
    /// The command needs a paused node, and this one is not paused; pause it first.
    NotPaused(String),
    /// An invariant broke; the state is left as it was right after the offending step.
    Violation(Violation),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownNode(n) => write!(f, "no node named {n:?}; add it first"),
            Self::DuplicateNode(n) => write!(f, "node {n:?} exists; restart it instead of adding it"),
            Self::NotRunning(n) => write!(f, "node {n:?} is not running; restart it first"),
            Self::StillRunning(n) => write!(f, "node {n:?} is running; crash it or make it leave first"),
            Self::BadName(n) => write!(f, "{n:?} is not a valid node name (1-64 of [A-Za-z0-9._-])"),
            Self::BadCookie => write!(
                f,
                "a cookie in SimConfig is empty or over 1024 bytes; use 1 to 1024 bytes"
            ),
            Self::NotPaused(n) => write!(f, "node {n:?} is not paused; pause it first"),
            Self::Violation(v) => write!(f, "invariant broken {v}"),
        }
    }
}

impl std::error::Error for SimError {}

impl From<Violation> for SimError {
    fn from(v: Violation) -> Self {
        Self::Violation(v)
    }
}
