//! How the simulated network and the simulated drivers behave.

use std::time::Duration;

use shoal_proto::MembershipConfig;

/// Settings of one simulation. Every duration is virtual time.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// The membership settings every node runs with.
    pub membership: MembershipConfig,
    /// Shortest one-way delay of a datagram or link message.
    pub latency_min: Duration,
    /// Longest one-way delay of a datagram or link message (uniform in between).
    pub latency_max: Duration,
    /// Probability in `[0, 1]` that a datagram is lost. Link messages are never lost (TCP)
    /// except across a partition.
    pub datagram_loss: f64,
    /// How long a dial towards an unreachable (partitioned) address takes to fail.
    pub connect_timeout: Duration,
    /// How long a connected dial may take to authenticate before the dialer gives up.
    pub handshake_timeout: Duration,
    /// How long a link its core retired keeps reading before its socket closes (shoal-node's
    /// `LAME_DUCK`): the peer sees no close for that long.
    pub lame_duck: Duration,
    /// How often a node that knows no member dials its seeds (the driver's discovery).
    pub discovery_alone: Duration,
    /// How often a node with members dials those of its seeds it is not linked to.
    pub discovery_joined: Duration,
    /// The cookie of the cluster.
    pub cookie: String,
    /// The cookie given to nodes added with [`crate::Sim::add_stranger`].
    pub stranger_cookie: String,
    /// Whether the distributed supervisor moves children to members that join.
    pub rebalance_children: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self::lan()
    }
}

impl SimConfig {
    /// A LAN: 0.1 to 2 ms one way, no loss, and the drivers' real timeouts.
    pub fn lan() -> Self {
        Self {
            membership: MembershipConfig::lan(),
            latency_min: Duration::from_micros(100),
            latency_max: Duration::from_millis(2),
            datagram_loss: 0.0,
            connect_timeout: Duration::from_secs(2),
            handshake_timeout: Duration::from_secs(5),
            lame_duck: Duration::from_secs(1),
            discovery_alone: Duration::from_millis(250),
            discovery_joined: Duration::from_secs(2),
            cookie: "shoal-sim-cookie".into(),
            stranger_cookie: "not-the-cluster-cookie".into(),
            rebalance_children: false,
        }
    }

    /// This config with a datagram loss probability in `[0, 1]`.
    pub fn with_loss(self, datagram_loss: f64) -> Self {
        Self {
            datagram_loss,
            ..self
        }
    }
}
