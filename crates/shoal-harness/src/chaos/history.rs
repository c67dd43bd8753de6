//! `History`: what a chaos run did and saw, as data: the faults with their windows, every
//! node's sampled state, and the event lines the nodes printed. The checker reads only this,
//! so it can be tested on hand-made histories.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shoal_api::views::{ActorView, GroupView, MemberView, NodeView, PidView, RegistryEntry, SupervisorView};

use super::FaultKind;

/// Everything one run recorded. Times are wall-clock microseconds since the Unix epoch, the
/// clock the nodes on the same host stamp their events and actors with.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct History {
    /// The seed of the schedule.
    pub seed: u64,
    /// When recording began (the cluster had formed with every child running once); what
    /// ran before, while the nodes started, is not judged.
    pub started_us: u64,
    /// The cluster's node names, by index.
    pub nodes: Vec<String>,
    /// After a fault ends, how long its nodes stay excused (not on the kept side, and may be
    /// declared down), in milliseconds.
    pub grace_ms: u64,
    /// When the last fault was repaired and the quiet phase began (None: not reached).
    pub quiet_from_us: Option<u64>,
    /// How long the quiet phase may take to satisfy every after-quiet check, in milliseconds.
    pub quiet_bound_ms: u64,
    /// The faults, in order.
    pub faults: Vec<FaultRecord>,
    /// Every node's sampled state.
    pub samples: Vec<Sample>,
    /// The event lines of every node (`renewed` lines are only counted).
    pub events: Vec<NodeEvent>,
    /// Every event line printed during the run, by kind (`renewed` included).
    pub event_counts: BTreeMap<String, u64>,
    /// Second processes started with a taken name.
    pub duplicates: Vec<DuplicateRecord>,
    /// Every node process the run started under a slot's name, in order (not the
    /// duplicates): a life older than its name's latest process was ended by a fault.
    #[serde(default)]
    pub processes: Vec<ProcessRecord>,
}

/// One node process the run started.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// Its name.
    pub name: String,
    /// Its creation (µs since the Unix epoch when it started, from its ready line). Its
    /// first life has this creation; each renewal adds one.
    pub creation: u64,
}

/// One fault as it happened.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FaultRecord {
    /// Its kind.
    pub kind: FaultKind,
    /// When it began.
    pub start_us: u64,
    /// When its repair finished (the node started again, resumed, healed).
    pub end_us: u64,
    /// What it was, for a person.
    pub text: String,
    /// Nodes taken off the kept side: killed, paused, restarted, or cut off as a minority.
    pub targets: Vec<String>,
    /// Pairs of nodes that could not talk to each other (partitions).
    pub separated: Vec<(String, String)>,
}

/// One node's state at one moment, as its HTTP API answered.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Sample {
    /// The node asked.
    pub node: String,
    /// When the first request was sent.
    pub sent_us: u64,
    /// When the last answer came.
    pub recv_us: u64,
    /// Taken in the quiet phase.
    pub quiet: bool,
    /// `GET /health` answered `ok`.
    pub health_ok: bool,
    /// `/api/node`'s `isolated`.
    pub isolated: bool,
    /// Members it lists, with state and whether linked.
    pub members: Vec<MemberObs>,
    /// Its local actors.
    pub actors: Vec<ActorObs>,
    /// Its registry view: name to pid key.
    pub registry: BTreeMap<String, String>,
    /// Its groups: name to sorted member pids.
    pub groups: BTreeMap<String, Vec<String>>,
    /// Its replica of the distributed supervisor's table.
    pub children: Vec<ChildObs>,
    /// Counts of its local counters (state endpoint), by pid key.
    pub counts: BTreeMap<String, u64>,
}

/// A member as one node lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberObs {
    /// Name.
    pub name: String,
    /// `alive` or `suspect`.
    pub state: String,
    /// Whether a link is up (true for the node itself).
    pub linked: bool,
}

/// A local actor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorObs {
    /// Pid key `<id>@<node>#<creation>`.
    pub pid: String,
    /// Whether it is a `Counter` (demo counters and the clock).
    pub counter: bool,
    /// When it started.
    pub started_at_us: u64,
}

/// One child record of the supervisor table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildObs {
    /// Child id.
    pub id: String,
    /// Owner node.
    pub owner: String,
    /// Pid key of the running instance.
    pub pid: Option<String>,
    /// `last_start` as JSON text, e.g. `"Fresh"` or `{"HandedOff":{"from":"n2"}}`.
    pub last_start: String,
    /// `state_kept`.
    pub state_kept: bool,
    /// `moving`.
    pub moving: bool,
}

/// An event line a node printed.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NodeEvent {
    /// The node that printed it.
    pub observer: String,
    /// Its `at_us`.
    pub at_us: u64,
    /// `node_up`, `node_down`, `renewed`, ...
    pub event: String,
    /// The node it is about.
    pub node: String,
    /// `node_down`'s reason.
    pub reason: Option<String>,
    /// The creation of the life it is about (`node_up`, `node_down`, ...).
    #[serde(default)]
    pub creation: Option<u64>,
}

/// A second process started with a taken name.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DuplicateRecord {
    /// The taken name.
    pub name: String,
    /// When it was started.
    pub start_us: u64,
    /// Whether it printed a ready line (it was not refused at start).
    pub ready: bool,
    /// Whether it was still running when the fault ended (not refused later either).
    pub still_running: bool,
}

/// `<id>@<node>#<creation>`: a pid with the life of its node.
pub(crate) fn pid_key(pid: &PidView) -> String {
    format!("{}@{}#{}", pid.id, pid.node.name, pid.node.creation)
}

/// The node name in a pid key.
pub(crate) fn pid_node(key: &str) -> &str {
    key.split_once('@')
        .map_or("", |(_, rest)| rest.split('#').next().unwrap_or(""))
}

impl Sample {
    /// Fills the parts of a sample from the answers of one node.
    pub fn parse(&mut self, node: &NodeView, answers: &Answers) {
        self.isolated = node.isolated;
        self.members = answers
            .members
            .iter()
            .map(|m| MemberObs {
                name: m.name.clone(),
                state: m.state.clone(),
                linked: m.linked || m.is_self,
            })
            .collect();
        self.actors = answers
            .actors
            .iter()
            .map(|a| ActorObs {
                pid: pid_key(&a.pid),
                counter: a.type_name.ends_with("::Counter"),
                started_at_us: a.started_at_us,
            })
            .collect();
        self.registry = answers
            .registry
            .iter()
            .map(|r| (r.name.clone(), pid_key(&r.pid)))
            .collect();
        self.groups = answers
            .groups
            .iter()
            .map(|g| {
                let mut members = g.members.clone();
                members.sort();
                (g.group.clone(), members)
            })
            .collect();
        self.children = answers
            .supervisor
            .children
            .iter()
            .map(|c| ChildObs {
                id: c.id.clone(),
                owner: c.owner.clone(),
                pid: c.pid.as_ref().map(pid_key),
                last_start: c.last_start.to_string(),
                state_kept: c.state_kept,
                moving: c.moving,
            })
            .collect();
    }
}

/// What one sample reads from a node besides `/api/node`.
#[derive(Clone, Debug)]
pub struct Answers {
    /// `GET /api/members`.
    pub members: Vec<MemberView>,
    /// `GET /api/actors`.
    pub actors: Vec<ActorView>,
    /// `GET /api/registry`.
    pub registry: Vec<RegistryEntry>,
    /// `GET /api/groups`.
    pub groups: Vec<GroupView>,
    /// `GET /api/supervisor`.
    pub supervisor: SupervisorView,
}
