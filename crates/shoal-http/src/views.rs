//! JSON shapes of the API. Field names are part of the contract: add, never rename.

use std::net::SocketAddr;
use std::time::Instant;

use serde::Serialize;
use shoal_node::{Liveness, Member, MemberStatus, Node, NodeStats};

use crate::stats::HttpStats;

/// `GET /api/node`.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
pub struct NodeStatsView {
    /// The node's counters (links, gossip, actors, membership).
    #[serde(flatten)]
    pub node: NodeStats,
    /// The HTTP server's connections.
    pub http: HttpStats,
}

impl NodeView {
    /// The view of a running node whose HTTP server counted `http`.
    pub fn of(node: &Node, http: HttpStats) -> Self {
        let local = node.local();
        Self {
            name: local.id.name.to_string(),
            creation: local.id.creation.0,
            version: local.version,
            listen: local.listen,
            http: local.http,
            roles: local.roles,
            pid: std::process::id(),
            uptime_ms: node.uptime().as_millis() as u64,
            peers: node.members().len(),
            actors: node.actors().count(),
            registered_names: node.actors().registered_count(),
            leader: node.leader(None).map(|l| l.name.to_string()),
            isolated: node.is_isolated(),
            partitioned_from: node.partitioned_from().iter().map(ToString::to_string).collect(),
            stats: NodeStatsView {
                node: node.stats(),
                http,
            },
        }
    }
}

/// One entry of `GET /api/members`.
#[derive(Debug, Serialize)]
pub struct MemberView {
    /// Node name.
    pub name: String,
    /// Creation stamp.
    pub creation: u64,
    /// `"alive"` or `"suspect"`.
    pub state: &'static str,
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
}

impl MemberView {
    /// The entry for the answering node.
    pub fn local(member: &Member) -> Self {
        Self::new(member, "alive", true)
    }

    /// The entry for a peer.
    pub fn peer(status: &MemberStatus) -> Self {
        let state = match status.liveness {
            Liveness::Alive => "alive",
            Liveness::Suspect => "suspect",
        };
        let mut view = Self::new(&status.member, state, false);
        view.linked = status.linked;
        view.rtt_us = status.rtt.map(|d| d.as_micros() as u64);
        view.last_heard_ms_ago = status
            .last_heard
            .map(|t| Instant::now().saturating_duration_since(t).as_millis() as u64);
        view
    }

    fn new(member: &Member, state: &'static str, is_self: bool) -> Self {
        Self {
            name: member.id.name.to_string(),
            creation: member.id.creation.0,
            state,
            is_self,
            listen: member.listen,
            http: member.http,
            version: member.version.clone(),
            roles: member.roles.clone(),
            linked: false,
            rtt_us: None,
            last_heard_ms_ago: None,
        }
    }
}
