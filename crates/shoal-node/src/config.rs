//! Everything a node needs to start, and the builder that fills it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use shoal_proto::wire::DEFAULT_MAX_FRAME_LEN;
use shoal_proto::{Cookie, MembershipConfig, NodeName};

use crate::discovery::{DnsQuery, MulticastDiscovery};
use crate::error::NodeError;
use crate::tls::TlsConfig;

mod env;

/// Default [`NodeConfig::link_busy_limit`]: 16 MiB. Erlang's default is 1 MiB, but an
/// Erlang sender past it is suspended, while a Shoal `send` is refused; the larger default
/// lets bursts through and still bounds what a slow or stalled peer makes a node hold.
pub const DEFAULT_LINK_BUSY_LIMIT: usize = 16 * 1024 * 1024;

/// Default [`NodeConfig::discovery_interval`]: 5 s.
pub const DEFAULT_DISCOVERY_INTERVAL: Duration = Duration::from_secs(5);

/// Settings of one node. Build with [`Node::builder`](crate::Node::builder).
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Unique name in the cluster.
    pub name: NodeName,
    /// The cluster's shared secret.
    pub cookie: Cookie,
    /// TCP link listener and UDP gossip socket (same port). Port 0 picks a free one;
    /// `0.0.0.0` listens on every interface.
    pub listen: SocketAddr,
    /// The link and gossip address peers dial, if not the one bound (a NAT, a container):
    /// port 0 means the bound port. Default: the bound address, or with a wildcard IP this
    /// host's first address that is not loopback.
    pub advertise: Option<SocketAddr>,
    /// Mutual TLS on links ([`TlsConfig`]): with it the node requires TLS of every peer and
    /// refuses plain ones; `None` (the default) runs links on plain TCP and refuses TLS peers.
    pub tls: Option<TlsConfig>,
    /// Address of this node's HTTP API, advertised to peers (the API itself is `shoal-http`).
    pub http: Option<SocketAddr>,
    /// The token the HTTP API's mutating endpoints ask for; `None` refuses them all.
    pub admin_token: Option<AdminToken>,
    /// Static seeds, `host:port`, dialled until the node has joined.
    pub seeds: Vec<String>,
    /// Directory for same-host discovery; `None` disables it.
    pub local_dir: Option<PathBuf>,
    /// DNS names to poll for peers (`dns:NAME:PORT`, `dns-srv:NAME`); empty disables DNS
    /// discovery.
    pub dns: Vec<DnsQuery>,
    /// Multicast discovery's group and TTL; `None` (the default) disables it.
    pub multicast: Option<MulticastDiscovery>,
    /// How often each DNS name is looked up, and each multicast beacon sent (each pause
    /// varies by ±20%); default [`DEFAULT_DISCOVERY_INTERVAL`].
    pub discovery_interval: Duration,
    /// Roles advertised to peers.
    pub roles: Vec<String>,
    /// Membership and failure-detection timing.
    pub membership: MembershipConfig,
    /// How this node's side decides, after a partition, whether it keeps running singletons
    /// (default: keep the majority).
    pub split_brain: shoal_proto::split_brain::Strategy,
    /// Whether the distributed supervisor moves children to a member that joins when their
    /// placement now picks it (default: off; children stay where they run).
    pub rebalance_children: bool,
    /// Largest link frame, in bytes: a larger one arriving closes the link, and a message
    /// that would need a larger one is refused at the sender (`SendError::TooLarge`).
    pub max_frame_len: usize,
    /// Unwritten bytes on one link at which sends to actors on its node are refused with
    /// `SendError::LinkBusy` (and `send_wait` waits), as Erlang's `dist_buf_busy_limit`
    /// suspends senders. Default [`DEFAULT_LINK_BUSY_LIMIT`]. Replies, monitors and other
    /// control frames are never refused.
    pub link_busy_limit: usize,
    /// Build version advertised to peers.
    pub version: String,
    /// Whether the node leaves the cluster when its standard input reaches end of file
    /// (default: off). For launchers that pipe stdin so that the node goes when they go,
    /// even when killed: test harnesses, benchmarks. Never with stdin at `/dev/null`.
    pub leave_on_stdin_eof: bool,
    /// The live members (this node included) the node needs to count as ready
    /// ([`Node::ready_for_probe`](crate::Node::ready_for_probe), `GET /health/ready`);
    /// default 1, at least 1.
    pub ready_min_members: usize,
}

/// The HTTP API's admin token. Its `Debug` hides it, so a logged config does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl AdminToken {
    /// The token itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// Builds a [`NodeConfig`] and starts the node.
#[derive(Debug)]
pub struct NodeBuilder {
    config: Result<NodeConfig, NodeError>,
}

impl NodeBuilder {
    pub(crate) fn new() -> Self {
        let name = NodeName::new(format!("node-{}", std::process::id())).map_err(NodeError::from);
        let config = name.map(|name| NodeConfig {
            name,
            cookie: Cookie::new("shoal-default-cookie").unwrap_or_else(|_| unreachable!("valid literal")),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: None,
            tls: None,
            http: None,
            admin_token: None,
            seeds: Vec::new(),
            local_dir: None,
            dns: Vec::new(),
            multicast: None,
            discovery_interval: DEFAULT_DISCOVERY_INTERVAL,
            roles: Vec::new(),
            membership: MembershipConfig::lan(),
            split_brain: shoal_proto::split_brain::Strategy::KeepMajority,
            rebalance_children: false,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            link_busy_limit: DEFAULT_LINK_BUSY_LIMIT,
            version: env!("CARGO_PKG_VERSION").to_string(),
            leave_on_stdin_eof: false,
            ready_min_members: 1,
        });
        Self { config }
    }

    /// Records a configuration error; `build` and `start` will return it.
    pub(crate) fn fail(mut self, error: shoal_proto::ConfigError) -> Self {
        if self.config.is_ok() {
            self.config = Err(error.into());
        }
        self
    }

    fn set(mut self, f: impl FnOnce(&mut NodeConfig) -> Result<(), NodeError>) -> Self {
        if let Ok(config) = &mut self.config
            && let Err(e) = f(config)
        {
            self.config = Err(e);
        }
        self
    }

    /// The node's name (default `node-<pid>`).
    pub fn name(self, name: &str) -> Self {
        let name = NodeName::new(name);
        self.set(|c| {
            c.name = name?;
            Ok(())
        })
    }

    /// The cluster's cookie. Every node of a cluster needs the same one.
    pub fn cookie(self, secret: impl AsRef<[u8]>) -> Self {
        let cookie = Cookie::new(secret);
        self.set(|c| {
            c.cookie = cookie?;
            Ok(())
        })
    }

    /// Where to listen for links and gossip (default `127.0.0.1:0`).
    pub fn listen(self, addr: SocketAddr) -> Self {
        self.set(|c| {
            c.listen = addr;
            Ok(())
        })
    }

    /// The link and gossip address peers dial, when it is not the one bound (see
    /// [`NodeConfig::advertise`]).
    pub fn advertise(self, addr: Option<SocketAddr>) -> Self {
        self.set(|c| {
            c.advertise = addr;
            Ok(())
        })
    }

    /// Mutual TLS on links (see [`NodeConfig::tls`]); `None` for plain TCP.
    pub fn tls(self, tls: Option<TlsConfig>) -> Self {
        self.set(|c| {
            c.tls = tls;
            Ok(())
        })
    }

    /// The HTTP address to advertise.
    pub fn http(self, addr: Option<SocketAddr>) -> Self {
        self.set(|c| {
            c.http = addr;
            Ok(())
        })
    }

    /// The token the HTTP API asks for on mutating endpoints (`shoal-http` reads it through
    /// [`Node::admin_token`](crate::Node::admin_token)); `None` (the default) refuses them all. An empty token is none.
    pub fn admin_token(self, token: Option<String>) -> Self {
        self.set(|c| {
            c.admin_token = token.filter(|t| !t.is_empty()).map(AdminToken);
            Ok(())
        })
    }

    /// The HTTP address configured so far ([`NodeBuilder::http`], `SHOAL_HTTP`); `None` if
    /// there is none or a setting is invalid (then [`NodeBuilder::start`] says which).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.config.as_ref().ok()?.http
    }

    /// Static seeds (`host:port`) to join through.
    pub fn seeds<S: Into<String>>(self, seeds: impl IntoIterator<Item = S>) -> Self {
        let seeds: Vec<String> = seeds.into_iter().map(Into::into).collect();
        self.set(|c| {
            c.seeds = seeds;
            Ok(())
        })
    }

    /// DNS names to poll for peers ([`DnsQuery`]); they only ever add candidates.
    pub fn dns_discovery(self, names: impl IntoIterator<Item = DnsQuery>) -> Self {
        let names: Vec<DnsQuery> = names.into_iter().collect();
        self.set(|c| {
            c.dns = names;
            Ok(())
        })
    }

    /// Multicast discovery: signed beacons to a group, every [`NodeBuilder::discovery_interval`]
    /// (see [`crate::discovery`]); `None` (the default) disables it. It only ever adds
    /// candidates.
    pub fn multicast_discovery(self, multicast: Option<MulticastDiscovery>) -> Self {
        self.set(|c| {
            c.multicast = multicast;
            Ok(())
        })
    }

    /// How often each DNS name is looked up and each multicast beacon sent (default 5 s;
    /// each pause varies by ±20%).
    pub fn discovery_interval(self, interval: Duration) -> Self {
        self.set(|c| {
            c.discovery_interval = interval.max(Duration::from_millis(1));
            Ok(())
        })
    }

    /// Enables same-host discovery through `dir` (see [`crate::discovery`]).
    pub fn local_discovery(self, dir: Option<PathBuf>) -> Self {
        self.set(|c| {
            c.local_dir = dir;
            Ok(())
        })
    }

    /// Roles to advertise.
    pub fn roles<S: Into<String>>(self, roles: impl IntoIterator<Item = S>) -> Self {
        let roles: Vec<String> = roles.into_iter().map(Into::into).collect();
        self.set(|c| {
            c.roles = roles;
            Ok(())
        })
    }

    /// Membership timing (default [`MembershipConfig::lan`]).
    pub fn membership(self, membership: MembershipConfig) -> Self {
        self.set(|c| {
            c.membership = membership;
            Ok(())
        })
    }

    /// The split-brain strategy (see [`shoal_proto::split_brain::Strategy`]).
    pub fn split_brain(self, strategy: shoal_proto::split_brain::Strategy) -> Self {
        self.set(|c| {
            c.split_brain = strategy;
            Ok(())
        })
    }

    /// Turns rebalancing on join on or off for the distributed supervisor (see
    /// [`crate::distributed`]).
    pub fn rebalance_children(self, on: bool) -> Self {
        self.set(|c| {
            c.rebalance_children = on;
            Ok(())
        })
    }

    /// Unwritten bytes per link at which sends to its node are refused as busy (see
    /// [`NodeConfig::link_busy_limit`]). At least 1.
    pub fn link_busy_limit(self, bytes: usize) -> Self {
        self.set(|c| {
            if bytes == 0 {
                return Err(shoal_proto::ConfigError::invalid(
                    "link_busy_limit",
                    "0",
                    "use at least 1 byte (default 16 MiB)",
                )
                .into());
            }
            c.link_busy_limit = bytes;
            Ok(())
        })
    }

    /// The version string advertised to peers.
    pub fn version(self, version: impl Into<String>) -> Self {
        let version = version.into();
        self.set(|c| {
            c.version = version;
            Ok(())
        })
    }

    /// Has the node leave the cluster when its standard input reaches end of file, as it
    /// does when the launcher holding the other end of a pipe exits, however it exits.
    /// Off by default; never turn it on for a node whose stdin is `/dev/null` or closed, or
    /// in a program that reads stdin itself (the watch reads and discards it).
    pub fn leave_on_stdin_eof(self, on: bool) -> Self {
        self.set(|c| {
            c.leave_on_stdin_eof = on;
            Ok(())
        })
    }

    /// The live members (this node included) the node needs to count as ready for an
    /// orchestrator's readiness probe (`GET /health/ready`); values below 1 count as 1.
    pub fn ready_min_members(self, min: usize) -> Self {
        self.set(|c| {
            c.ready_min_members = min.max(1);
            Ok(())
        })
    }

    /// The finished config, validated.
    pub fn build(self) -> Result<NodeConfig, NodeError> {
        let mut config = self.config?;
        config.membership = config.membership.validate()?;
        Ok(config)
    }
}
