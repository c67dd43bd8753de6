//! The messages clients exchange with a session (and sessions with the store).

use serde::{Deserialize, Serialize};
use shoal_node::actor::RemoteMessage;

/// Requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvCall {
    /// Store `value` under `key`.
    Put(String, String),
    /// Read `key`.
    Get(String),
    /// How many keys are stored.
    Len,
    /// Make the store fail (to watch its supervisor restart it).
    CrashStore,
}

impl RemoteMessage for KvCall {
    const TAG: &'static str = "kv.Call";
}

/// Answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvReply {
    /// A `Put` was stored.
    Stored,
    /// The value of a `Get`.
    Value(Option<String>),
    /// The answer to `Len`.
    Len(u64),
    /// The store crashed as asked; its supervisor restarts it.
    Crashed,
    /// No store instance is running right now (it is being restarted); try again.
    Unavailable,
}

impl RemoteMessage for KvReply {
    const TAG: &'static str = "kv.Reply";
}
