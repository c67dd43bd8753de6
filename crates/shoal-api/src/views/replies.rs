//! The small answers: health, an actor's state, what a mutating request did.

use serde::{Deserialize, Serialize};

/// `GET /health` and `GET /health/live`: `{"status": "ok"}` while the node runs;
/// `GET /health/ready`: `{"status": "ready"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

impl Health {
    /// `{"status": "ok"}`.
    pub fn ok() -> Self {
        Self { status: "ok".into() }
    }

    /// `{"status": "ready"}`: `GET /health/ready` of a node that is ready.
    pub fn ready() -> Self {
        Self {
            status: "ready".into(),
        }
    }
}

/// `GET /api/actors/{pid}/state`: the actor's own view of its state (`Actor::state_view`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateView {
    /// `<id>@<node>`.
    pub pid: String,
    /// Whatever the actor shows, e.g. `{"count": 41}` for a demo counter.
    pub state: serde_json::Value,
}

/// `POST /api/actors/{pid}/kill`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Killed {
    /// The pid stopped, `<id>@<node>`.
    pub killed: String,
}

/// `POST /api/actors/{pid}/send`: the message is queued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// The pid it was queued for, `<id>@<node>`.
    pub sent: String,
}

/// `POST /api/actors/{pid}/call`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallReply {
    /// The pid called, `<id>@<node>`.
    pub pid: String,
    /// The reply as JSON.
    pub reply: serde_json::Value,
}

/// `POST /api/supervisor/migrate?id=&to=`: the child runs on `node` from its state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migrated {
    /// The child id.
    pub id: String,
    /// Where it runs now.
    pub node: String,
    /// Its new instance, `<id>@<node>`.
    pub pid: String,
}

/// `/api/chaos`: the peers the node drops all traffic with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChaosView {
    /// Their names.
    pub partitioned_from: Vec<String>,
}
