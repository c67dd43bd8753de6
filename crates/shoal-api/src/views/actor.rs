//! Actors and pids.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A node's identity: its name and which life of it (`shoal_proto::NodeId`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeIdView {
    /// Node name.
    pub name: String,
    /// Creation stamp of the life.
    pub creation: u64,
}

/// A pid as JSON (`shoal_proto::Pid`): `{"node": {"name", "creation"}, "id"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PidView {
    /// The node the actor runs on.
    pub node: NodeIdView,
    /// The actor's id on that node.
    pub id: u64,
}

impl fmt::Display for PidView {
    /// `<id>@<node>`, the form paths and the `shoal` command take.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.node.name)
    }
}

/// One actor, as `GET /api/actors` lists it: `shoal_node::actor::ActorInfo` and the names
/// the registry holds for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorView {
    /// Its address.
    pub pid: PidView,
    /// `<id>@<node>`.
    pub pid_text: String,
    /// The name given at spawn, if any (an actor a factory started has its factory's name; a
    /// supervised child's id is among its `registered` names).
    pub name: Option<String>,
    /// The Rust type of the actor.
    pub type_name: String,
    /// The actor that spawned it as a child (its supervisor), if any.
    pub parent: Option<PidView>,
    /// `starting`, `waiting`, `running` or `stopping`.
    pub status: String,
    /// Messages waiting in its mailbox.
    pub mailbox_depth: usize,
    /// Messages and calls handled.
    pub handled: u64,
    /// Messages dropped because its mailbox was full.
    pub dropped: u64,
    /// How many times its supervisor restarted it before this life.
    pub restarts: u32,
    /// Time since it started, in milliseconds.
    pub uptime_ms: u64,
    /// When it started, in microseconds since the Unix epoch.
    pub started_at_us: u64,
    /// The names registered to it, sorted; a supervised child's id and a singleton's name
    /// are among them.
    pub registered: Vec<String>,
}

/// `GET /api/actors/{pid}`: the actor, and its supervision children one level down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorDetail {
    /// The actor.
    #[serde(flatten)]
    pub actor: ActorView,
    /// Pids (`<id>@<node>`) of the actors it spawned as children, by id.
    pub children: Vec<String>,
    /// Pids linked to it.
    #[serde(default)]
    pub links: Vec<String>,
    /// Its monitors: a local actor's pid, `a task on <node>` or `an actor on <node>`.
    #[serde(default)]
    pub monitored_by: Vec<String>,
}
