//! The answering node and its members.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// `GET /api/node`: the answering node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    /// Node name.
    pub name: String,
    /// Creation stamp (µs since the Unix epoch at start).
    pub creation: u64,
    /// Build version.
    pub version: String,
    /// Link and gossip address.
    pub listen: SocketAddr,
    /// HTTP address.
    pub http: Option<SocketAddr>,
    /// Roles.
    pub roles: Vec<String>,
    /// OS process id.
    pub pid: u32,
    /// Time since start.
    pub uptime_ms: u64,
    /// Live peers (not counting this node).
    pub peers: usize,
    /// Actors running on this node.
    pub actors: usize,
    /// Names in this node's view of the global registry.
    pub registered_names: usize,
    /// The cluster's leader as this node sees it (the oldest member; singletons run there).
    pub leader: Option<String>,
    /// Whether the split-brain resolver isolated this node's side (it runs no singletons).
    pub isolated: bool,
    /// Peers cut off by fault injection (`/api/chaos`).
    pub partitioned_from: Vec<String>,
    /// Refused input counters.
    pub stats: NodeStatsView,
}

/// `stats` of `GET /api/node`: the node's counters, and its HTTP server's under `http`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatsView {
    /// The node's counters (links, gossip, actors, membership).
    #[serde(flatten)]
    pub node: NodeCounters,
    /// The HTTP server's connections.
    pub http: HttpStats,
}

/// The node's counters (`shoal_node::NodeStats` with its `MembershipStats` flattened in),
/// each since the node started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCounters {
    /// Link frames that did not decode (the connection was closed).
    pub bad_frames: u64,
    /// Link frames over the maximum length (the connection was closed).
    pub oversized_frames: u64,
    /// Handshakes that failed (wrong cookie, garbage, timeout).
    pub handshake_failures: u64,
    /// Connections closed at once because too many handshakes were already in progress.
    pub handshakes_shed: u64,
    /// Actor messages from peers that this node refused.
    pub actor_messages_refused: u64,
    /// Refusals peers sent back for this node's one-way sends.
    pub actor_sends_refused_by_peers: u64,
    /// Actor frames received from peers.
    pub actor_frames_received: u64,
    /// Datagrams dropped before gossip saw them (short, wrong version, wrong cookie).
    pub bad_datagrams: u64,
    /// Authenticated datagrams that gossip refused (malformed or misaddressed).
    pub bad_gossip: u64,
    /// Link messages that made no sense after the handshake.
    pub bad_link_messages: u64,
    /// Nodes refused because a live, answering member already holds their name.
    pub name_taken: u64,
    /// Times this node found it had not run for longer than its stall threshold.
    pub stalls: u64,
    /// Links closed because they went silent while their peer refuted through others.
    pub indirect: u64,
}

/// What the HTTP server did with its connections since the node started (`stats.http`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpStats {
    /// Connections open now.
    pub open: u64,
    /// Connections accepted and served.
    pub accepted: u64,
    /// Connections answered `503` and closed at once: the cap was reached and none was idle.
    pub refused: u64,
    /// Idle connections closed to make room for a new one at the cap.
    pub evicted: u64,
    /// Connections closed because no complete request head came within the header timeout
    /// (a silent, half-sent or idle keep-alive connection).
    pub header_timeouts: u64,
    /// Connections closed because a response write made no progress within the send timeout.
    pub send_timeouts: u64,
    /// `accept` calls that failed (for example out of file descriptors).
    pub accept_errors: u64,
    /// Dashboard feeds (`/api/dashboard/events`) open now.
    #[serde(default)]
    pub dashboard_feeds: u64,
    /// Whether the dashboard's gathering loop runs (only while a feed is open).
    #[serde(default)]
    pub dashboard_gathering: bool,
}

/// One entry of `GET /api/members`: a live member as the answering node sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// Node name.
    pub name: String,
    /// Creation stamp.
    pub creation: u64,
    /// `"alive"` or `"suspect"`.
    pub state: String,
    /// Whether this entry is the answering node itself.
    #[serde(rename = "self")]
    pub is_self: bool,
    /// Link and gossip address.
    pub listen: SocketAddr,
    /// HTTP address.
    pub http: Option<SocketAddr>,
    /// Build version.
    pub version: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Whether the answering node holds a link to it.
    pub linked: bool,
    /// Last link heartbeat round trip.
    pub rtt_us: Option<u64>,
    /// Time since its link last carried anything.
    pub last_heard_ms_ago: Option<u64>,
    /// Bytes queued on the answering node's link to it, not yet written.
    #[serde(default)]
    pub queue_bytes: Option<u64>,
}

impl MemberView {
    /// Whether the answering node lists it as alive (not suspect).
    pub fn is_alive(&self) -> bool {
        self.state == "alive"
    }
}
