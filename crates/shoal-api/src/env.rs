//! The launch variables: what a launcher (`shoal cluster start`, the test kit, the chaos
//! harness, `shoal bench`) sets for a node program, and what `Node::from_env()` reads. A
//! flag of `shoal node` with the same meaning wins over its variable.

/// Unique node name.
pub const NAME: &str = "SHOAL_NAME";
/// The cluster's shared secret, as text.
pub const COOKIE: &str = "SHOAL_COOKIE";
/// A file holding the cluster's shared secret.
pub const COOKIE_FILE: &str = "SHOAL_COOKIE_FILE";
/// Address for TCP links and UDP gossip (`host:port`; port 0 for any free port).
pub const LISTEN: &str = "SHOAL_LISTEN";
/// The link and gossip address peers dial when it is not the one bound (`IP:PORT`; port 0:
/// the bound port). Default: the bound address, or with a wildcard `SHOAL_LISTEN` this
/// host's first address that is not loopback.
pub const ADVERTISE: &str = "SHOAL_ADVERTISE";
/// TLS on links: `required` (mutual TLS, plain peers refused) or `off` (the default).
pub const TLS: &str = "SHOAL_TLS";
/// This node's certificate (PEM), signed by the CA of [`TLS_CA`].
pub const TLS_CERT: &str = "SHOAL_TLS_CERT";
/// This node's private key (PEM).
pub const TLS_KEY: &str = "SHOAL_TLS_KEY";
/// The CA certificate (PEM) every peer's certificate must chain to.
pub const TLS_CA: &str = "SHOAL_TLS_CA";
/// Address of the HTTP API (`host:port`).
pub const HTTP: &str = "SHOAL_HTTP";
/// `host:port,...` to join through.
pub const SEEDS: &str = "SHOAL_SEEDS";
/// Discovery strategies, comma-separated: `static`, `local`, `dns:NAME[:PORT]` (A/AAAA
/// records; the port defaults to the listen port), `dns-srv:NAME` (SRV records),
/// `multicast[:GROUP:PORT]` (signed beacons to an IPv4 multicast group, by default
/// `239.255.77.77:7710`), or `none`.
pub const DISCOVERY: &str = "SHOAL_DISCOVERY";
/// The IP time to live of multicast discovery's beacons, 1 to 255 (default 1: the local link).
pub const MULTICAST_TTL: &str = "SHOAL_MULTICAST_TTL";
/// The same-host discovery directory.
pub const LOCAL_DIR: &str = "SHOAL_LOCAL_DIR";
/// How often each DNS strategy looks its name up, and multicast discovery sends a beacon, in
/// milliseconds (each pause varies by ±20%).
pub const DISCOVERY_INTERVAL_MS: &str = "SHOAL_DISCOVERY_INTERVAL_MS";
/// Roles advertised to peers, comma-separated.
pub const ROLES: &str = "SHOAL_ROLES";
/// A file the node also writes its ready line to (atomically), and removes when it leaves.
pub const READY_FILE: &str = "SHOAL_READY_FILE";
/// The token mutating HTTP requests must carry.
pub const ADMIN_TOKEN: &str = "SHOAL_ADMIN_TOKEN";
/// `true`: leave and exit when stdin reaches end of file (the launcher is gone).
pub const LEAVE_ON_STDIN_EOF: &str = "SHOAL_LEAVE_ON_STDIN_EOF";
/// The live members a node needs to count as ready (`GET /health/ready`).
pub const READY_MIN_MEMBERS: &str = "SHOAL_READY_MIN_MEMBERS";
/// `true`: `shoal node` runs the demo workload.
pub const DEMO: &str = "SHOAL_DEMO";
/// The node's log filter.
pub const LOG: &str = "SHOAL_LOG";

/// Set by `shoal cluster run` for its command: the cluster's node names, comma-separated.
pub const NODES: &str = "SHOAL_NODES";
/// Set by `shoal cluster run` for its command: the nodes' HTTP addresses, comma-separated,
/// in the order of [`NODES`].
pub const HTTP_ADDRS: &str = "SHOAL_HTTP_ADDRS";
/// The state directory of `shoal cluster` (also set by `shoal cluster run` for its command).
pub const STATE_DIR: &str = "SHOAL_STATE_DIR";

/// Set (to anything) where every end-to-end test must run: a test that needs a system tool
/// this machine lacks (Chromium, Prometheus, dnsmasq, network namespaces) then fails instead
/// of skipping. `.ci/run` sets it, after installing the tools.
pub const REQUIRE_TOOLS: &str = "SHOAL_REQUIRE_TOOLS";

/// Whether a test may skip because `missing` (a sentence naming the tool and how to install
/// it) is true of this machine. Without [`REQUIRE_TOOLS`] it prints why on stderr and
/// answers `true`; with it, it panics with the sentence.
pub fn skip_without_tool(missing: &str) -> bool {
    assert!(
        std::env::var_os(REQUIRE_TOOLS).is_none(),
        "{missing} ({REQUIRE_TOOLS} is set: this run must not skip)"
    );
    eprintln!("SKIPPED: {missing} (set {REQUIRE_TOOLS}=1 to make this a failure)");
    true
}
