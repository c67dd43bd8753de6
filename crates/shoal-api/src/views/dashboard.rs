//! What the dashboard reads: one node's report, and the cluster gathered from every node.

use serde::{Deserialize, Serialize};

use super::{ActorView, HistoryEvent, MemberView, NodeView, Sample};

/// `GET /api/dashboard/report[?after=SEQ]`: everything the dashboard shows of one node, in
/// one answer, so a gathering node asks each peer once per tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    /// The node.
    pub node: NodeView,
    /// Its members as it sees them, itself first (the reachability matrix's row).
    pub members: Vec<MemberView>,
    /// Its newest sample, if it took one yet.
    pub sample: Option<Sample>,
    /// Its events after `after` (at most 500, oldest first; none if `after` is absent).
    pub events: Vec<HistoryEvent>,
    /// Its highest event `seq`.
    pub last_seq: u64,
    /// Its process's creation (the `process` of its member record): `seq` starts again
    /// in a new process.
    pub process: u64,
}

/// One node of [`ClusterView`]: what it reported, or why it did not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeEntry {
    /// The node's name.
    pub name: String,
    /// Where it was asked (its HTTP address), if it has one.
    pub http: Option<std::net::SocketAddr>,
    /// Its report, if it answered.
    pub report: Option<NodeReport>,
    /// Why there is no report (no HTTP address, refused, timed out, bad answer).
    pub error: Option<String>,
}

/// A node the gathering node saw go down and not come back (from its own history).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoneNode {
    /// Its name.
    pub name: String,
    /// Why, as the membership core named it (`Left`, `Crashed`, `Failed`, ...).
    pub reason: String,
    /// When, µs since the Unix epoch.
    pub at_us: u64,
}

/// `GET /api/cluster` and each `cluster` event of `GET /api/dashboard/events`: every live
/// member's report, gathered by the answering node from the members' HTTP APIs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterView {
    /// The node that gathered it.
    pub gathered_by: String,
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
    /// The gathering node first, then its live members by name.
    pub nodes: Vec<NodeEntry>,
    /// Members that went down and are not back, newest first (at most 100).
    pub gone: Vec<GoneNode>,
}

/// `GET /api/actors/page` (one node) and `GET /api/cluster/actors` (every node): a page of
/// actors matching a search, sorted, with the count of all that match.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActorPage {
    /// Actors that match, over every node asked.
    pub total: usize,
    /// The page, in the order asked.
    pub actors: Vec<ActorView>,
    /// Nodes that did not answer, with why (only for `GET /api/cluster/actors`).
    pub errors: Vec<NodeError>,
}

/// A node that did not answer a gathering request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeError {
    /// The node.
    pub node: String,
    /// Why.
    pub error: String,
}

/// `GET /api/cluster/history[?limit=N]`: the newest events of every live member, merged,
/// newest first; each names its node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterHistory {
    /// The events, newest first.
    pub events: Vec<NodeEvent>,
    /// Nodes that did not answer.
    pub errors: Vec<NodeError>,
}

/// A history event and the node that recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEvent {
    /// The node that recorded it.
    pub node: String,
    /// The event.
    #[serde(flatten)]
    pub event: HistoryEvent,
}

/// `GET /api/cluster/samples`: every live member's samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterSamples {
    /// One page per member that answered.
    pub nodes: Vec<super::SamplesPage>,
    /// Members that did not answer.
    pub errors: Vec<NodeError>,
}
