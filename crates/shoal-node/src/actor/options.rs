//! [`SpawnOptions`]: how to spawn an actor.

use super::Pid;

/// Default mailbox capacity, in messages.
pub(crate) const DEFAULT_CAPACITY: usize = 1024;

/// How to spawn an actor.
#[derive(Clone, Debug)]
pub struct SpawnOptions {
    /// A name shown by introspection (not a registered name).
    pub name: Option<String>,
    /// Mailbox capacity in messages; at least 1.
    pub capacity: usize,
    pub(crate) parent: Option<Pid>,
    pub(crate) restarts: u32,
}

impl Default for SpawnOptions {
    fn default() -> Self {
        Self {
            name: None,
            capacity: DEFAULT_CAPACITY,
            parent: None,
            restarts: 0,
        }
    }
}

impl SpawnOptions {
    /// Sets the introspection name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the mailbox capacity (values below 1 count as 1).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }
}
