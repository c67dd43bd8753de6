//! `GET /api/discovery`: why a node did (not) join, per strategy and per candidate address.

use std::net::{Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

/// `GET /api/discovery`: each strategy's last lookup and the last outcome of each candidate
/// address (at most 256 candidates: the least recently proposed are dropped first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryView {
    /// Every strategy the node runs, in the order it was configured.
    pub strategies: Vec<StrategyView>,
    /// Candidate addresses, sorted by address.
    pub candidates: Vec<CandidateView>,
    /// The beacons of multicast discovery, when it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multicast: Option<MulticastView>,
}

/// Multicast discovery's beacons: what this node sent, and what it heard and accepted or
/// ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MulticastView {
    /// The group and port beacons go to, e.g. `239.255.77.77:7710`.
    pub group: SocketAddr,
    /// The interface (its IPv4 address: the node's advertised IP) beacons leave from and the
    /// group is joined on.
    pub interface: Ipv4Addr,
    /// The beacons' IP time to live (1: this link only).
    pub ttl: u32,
    /// Beacons this node sent.
    pub sent: u64,
    /// Beacons of other nodes that verified under this node's cookie.
    pub accepted: u64,
    /// Datagrams to the group that were not a beacon of this cluster: another cookie,
    /// garbage, too long or too short. This node's own beacons are not counted.
    pub ignored: u64,
    /// The last ignored datagram, if any.
    pub last_ignored: Option<IgnoredBeaconView>,
}

/// One ignored datagram.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredBeaconView {
    /// Who sent it (the source address of the datagram; not authenticated).
    pub from: SocketAddr,
    /// Why it was ignored: `bad_tag` (another cookie), `too_short`, `too_long`,
    /// `not_a_beacon`, `version`, `malformed`.
    pub reason: String,
    /// When, in ms since the Unix epoch.
    pub at_ms: u64,
}

/// One strategy's last lookup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrategyView {
    /// How it was configured, e.g. `static`, `local`, `dns:shoal.svc:7000`, `dns-srv:_shoal._tcp.svc`.
    pub strategy: String,
    /// When the last lookup ended, in ms since the Unix epoch; `None` before the first.
    pub last_lookup_ms: Option<u64>,
    /// Lookups so far.
    pub lookups: u64,
    /// What the last lookup returned, sorted (empty when it failed).
    pub found: Vec<SocketAddr>,
    /// Why the last lookup failed, if it did (e.g. the name does not exist).
    pub error: Option<String>,
}

/// One address discovery proposed, and what became of the last attempt to join through it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateView {
    /// The address (a node's link address).
    pub addr: SocketAddr,
    /// The strategies that last proposed it.
    pub sources: Vec<String>,
    /// When a strategy last proposed it, in ms since the Unix epoch.
    pub proposed_ms: u64,
    /// The last outcome.
    pub outcome: CandidateOutcome,
    /// Since when [`Self::outcome`] holds, in ms since the Unix epoch.
    pub outcome_ms: u64,
}

/// What became of the last attempt to join through a candidate address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateOutcome {
    /// Proposed; no attempt through it has ended yet.
    Proposed,
    /// An authenticated link came up through it, or it is linked already.
    Joined,
    /// Nothing listens there (the connection was refused).
    Refused,
    /// No Shoal node answered in time (a timeout, a reset, or not a Shoal peer).
    Unreachable,
    /// A Shoal node answered and refused: it holds a different cookie.
    WrongCookie,
    /// A Shoal node answered and refused: no protocol version in common.
    ProtocolVersion,
    /// A Shoal node answered and refused: it or another live node already has this node's name.
    NameTaken,
    /// This node's own address (dialled through its own name).
    Itself,
    /// TLS failed: one side runs without TLS, a certificate from another CA, an expired one.
    Tls,
}

impl CandidateOutcome {
    /// A short text for tables: `joined`, `wrong cookie`, ...
    pub fn describe(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Joined => "joined",
            Self::Refused => "refused: nothing listens",
            Self::Unreachable => "unreachable",
            Self::WrongCookie => "refused: wrong cookie",
            Self::ProtocolVersion => "refused: protocol version",
            Self::NameTaken => "refused: name taken",
            Self::Itself => "this node",
            Self::Tls => "refused: TLS",
        }
    }
}
