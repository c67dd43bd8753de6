//! [`ActorStatus`]: where an actor is in its life.

use serde::Serialize;

/// Where an actor is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum ActorStatus {
    /// Running its `started` hook.
    Starting = 0,
    /// Waiting for a message.
    Waiting = 1,
    /// Handling a message or signal.
    Running = 2,
    /// Running its `stopping` hook.
    Stopping = 3,
}

impl ActorStatus {
    pub(crate) fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Starting,
            1 => Self::Waiting,
            2 => Self::Running,
            _ => Self::Stopping,
        }
    }
}
