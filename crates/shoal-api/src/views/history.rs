//! A node's bounded history: what happened in the cluster as it saw it, and one sample of its
//! figures a second (`GET /api/history`, `GET /api/samples`, the dashboard).

use serde::{Deserialize, Serialize};

/// What kind of thing happened. The set is closed, so it can label a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A member is up (joined, or a suspicion of it cleared).
    NodeUp,
    /// A member is suspected (its link went silent).
    NodeSuspect,
    /// A member is down; `reason` says why (`Left`, `Crashed`, `Failed`, `Replaced`, `Renewed`).
    NodeDown,
    /// This node was declared down and took a newer life.
    Renewed,
    /// A member reported renewed took no newer life in time: its actors are down.
    ActorsDown,
    /// This node did not run for a while (stopped or starved of CPU).
    Stalled,
    /// A live member holds this node's name: this node stops.
    NameTaken,
    /// The split-brain resolver decided: `reason` is `isolated` or `runs_again`.
    SplitBrain,
    /// A registered name was held twice; `subject` is the name, `detail` names the winner.
    RegistryConflict,
    /// A supervised child started on this node; `reason` says how (`fresh`, `restarted`,
    /// `failed_over`, `handed_off`, `handoff_lost`, `handed_off_after_loss`).
    ChildStarted,
    /// A supervised child's instance on this node stopped.
    ChildStopped,
    /// A child was handed over to its new owner; `reason` is `sent` or `undelivered`.
    Handoff,
    /// A local supervisor restarted one of its children.
    Restart,
    /// A singleton started on this node.
    SingletonStarted,
    /// A singleton stopped on this node.
    SingletonStopped,
    /// Fault injection: `reason` is `partition` or `heal`.
    Chaos,
    /// An actor was killed through the HTTP API.
    ActorKilled,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 17] = [
        Self::NodeUp,
        Self::NodeSuspect,
        Self::NodeDown,
        Self::Renewed,
        Self::ActorsDown,
        Self::Stalled,
        Self::NameTaken,
        Self::SplitBrain,
        Self::RegistryConflict,
        Self::ChildStarted,
        Self::ChildStopped,
        Self::Handoff,
        Self::Restart,
        Self::SingletonStarted,
        Self::SingletonStopped,
        Self::Chaos,
        Self::ActorKilled,
    ];

    /// The snake_case name, as the JSON and metric labels spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NodeUp => "node_up",
            Self::NodeSuspect => "node_suspect",
            Self::NodeDown => "node_down",
            Self::Renewed => "renewed",
            Self::ActorsDown => "actors_down",
            Self::Stalled => "stalled",
            Self::NameTaken => "name_taken",
            Self::SplitBrain => "split_brain",
            Self::RegistryConflict => "registry_conflict",
            Self::ChildStarted => "child_started",
            Self::ChildStopped => "child_stopped",
            Self::Handoff => "handoff",
            Self::Restart => "restart",
            Self::SingletonStarted => "singleton_started",
            Self::SingletonStopped => "singleton_stopped",
            Self::Chaos => "chaos",
            Self::ActorKilled => "actor_killed",
        }
    }
}

/// One entry of a node's event history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// Its place in this node's history: 1, 2, ... within one process.
    pub seq: u64,
    /// When, µs since the Unix epoch.
    pub at_us: u64,
    /// What happened.
    pub kind: EventKind,
    /// What it is about: a node name, a child id, a registered name or a pid.
    pub subject: String,
    /// A short word from a closed set that qualifies `kind` (see [`EventKind`]), if any.
    pub reason: Option<String>,
    /// One sentence for a person.
    pub detail: String,
}

/// `GET /api/history[?after=SEQ][&limit=N]`: the node's events after `after`, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The answering node.
    pub node: String,
    /// Its creation: `seq` starts again at 1 in a new process.
    pub creation: u64,
    /// The highest `seq` recorded so far (0 if none).
    pub last_seq: u64,
    /// Events recorded but no longer kept (the history holds the newest 10,000).
    pub dropped: u64,
    /// The events, oldest first.
    pub events: Vec<HistoryEvent>,
}

/// One second of a node's figures. Counters are totals since the node started (a reader
/// takes differences for rates); gauges are the value at `at_ms`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
    /// Live members counting this node, alive (not suspect).
    pub members_alive: u32,
    /// Members this node suspects.
    pub members_suspect: u32,
    /// Actors running on this node.
    pub actors: u64,
    /// Messages this node's actors handled (counter).
    pub messages_handled: u64,
    /// CPU time this process used since it started, in ms (counter); `None` off Linux.
    pub cpu_ms: Option<u64>,
    /// Resident memory, in bytes; `None` off Linux.
    pub rss_bytes: Option<u64>,
    /// Local supervisor restarts and supervised child restarts on this node (counter).
    pub restarts: u64,
    /// Children this node started after their node went down (counter).
    pub failovers: u64,
    /// Each live peer's link figures.
    pub peers: Vec<PeerSample>,
}

/// A peer's link as one [`Sample`] saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerSample {
    /// The peer's name.
    pub node: String,
    /// Last heartbeat round trip.
    pub rtt_us: Option<u64>,
    /// Bytes written to its link (counter), if the link counts them.
    pub bytes_sent: Option<u64>,
}

/// `GET /api/samples[?after_ms=T][&step_s=S]`: the node's samples after `after_ms`, oldest
/// first, one every `step_s` seconds (1 by default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplesPage {
    /// The answering node.
    pub node: String,
    /// The samples.
    pub samples: Vec<Sample>,
}
