//! What introspection shows about an actor.

use serde::Serialize;

use super::Pid;
use super::cell::Cell;
use super::status::ActorStatus;
use super::watcher::Watcher;

/// A snapshot of one actor, as `GET /api/actors` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActorInfo {
    /// Its address.
    pub pid: Pid,
    /// `<id>@<node>`, the form `shoal info` and the HTTP paths take.
    pub pid_text: String,
    /// The name given at spawn, if any (an actor a factory started has its factory's name; a
    /// supervised child's id is among the names the registry holds for it).
    pub name: Option<String>,
    /// The Rust type of the actor.
    pub type_name: &'static str,
    /// The actor that spawned it as a child (with [`Ctx::spawn_child`](super::Ctx::spawn_child)), if any.
    pub parent: Option<Pid>,
    /// Current state.
    pub status: ActorStatus,
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
}

impl ActorInfo {
    pub(crate) fn of(cell: &Cell) -> Self {
        Self {
            pid: cell.pid.clone(),
            pid_text: cell.pid.to_string(),
            name: cell.meta.name.clone(),
            type_name: cell.meta.type_name,
            parent: cell.meta.parent.clone(),
            status: cell.status(),
            mailbox_depth: cell.inbox.depth(),
            handled: cell.handled(),
            dropped: cell.dropped(),
            restarts: cell.meta.restarts,
            uptime_ms: cell.meta.started.elapsed().as_millis() as u64,
            started_at_us: cell.meta.started_at_us,
        }
    }
}

/// Who watches a local actor: the actors linked to it, and its monitors, as a person reads
/// them (`GET /api/actors/{pid}`, the dashboard's detail panel).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActorRelations {
    /// Pids linked to it, sorted.
    pub links: Vec<Pid>,
    /// Its monitors: a local actor's pid, `a task on <node>` for a monitor that is not an
    /// actor, or `an actor on <node>` for a remote watcher.
    pub monitored_by: Vec<String>,
}

impl ActorRelations {
    /// The relations of `cell`, whose node is `local`.
    pub(crate) fn of(cell: &Cell, local: &shoal_proto::NodeId) -> Self {
        let watchers = cell.watchers();
        let mut links: Vec<Pid> = watchers.links.iter().cloned().collect();
        links.sort_by(|a, b| (a.node.name.as_str(), a.id).cmp(&(b.node.name.as_str(), b.id)));
        let monitored_by = watchers
            .monitors
            .iter()
            .map(|w| match w {
                Watcher::Actor { id, .. } => Pid::new(local.clone(), *id).to_string(),
                Watcher::Channel { .. } => format!("a task on {}", local.name),
                Watcher::Remote { node, .. } => format!("an actor on {}", node.name),
            })
            .collect();
        Self { links, monitored_by }
    }
}
