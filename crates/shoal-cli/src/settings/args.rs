//! The `shoal node` flags, each also read from a `SHOAL_*` environment variable.

use std::fmt;
use std::path::PathBuf;

use shoal_api::env;

/// Run one node in the foreground.
//
// Every flag can also come from the `SHOAL_*` variable shown in `--help` (a flag beats its
// variable), and every one is optional here so that `shoal.toml` can fill the gaps: call
// `NodeArgs::resolve` to get validated `NodeSettings`. Values are kept as text and validated
// there, so that each error is one line naming the value and the fix (clap's own errors for
// typed values are longer and name no fix). The doc line above is user-facing: clap shows it.
// So are the field docs: their `<hostname>`-style placeholders are for `--help`, not HTML.
#[allow(rustdoc::invalid_html_tags)]
#[derive(Clone, Default, clap::Args)]
pub(crate) struct NodeArgs {
    /// Node name, unique in the cluster: 1-64 of A-Z a-z 0-9 . _ - [default: <hostname>-<pid>]
    #[arg(long, env = env::NAME, value_name = "NAME")]
    pub(crate) name: Option<String>,

    /// The cluster's shared secret (prefer --cookie-file: flags show up in `ps`)
    /// [default: read or create ~/.shoal.cookie]
    #[arg(long, env = env::COOKIE, value_name = "SECRET", hide_env_values = true)]
    pub(crate) cookie: Option<String>,

    /// File holding the cluster's shared secret (keep it chmod 600)
    #[arg(long, env = env::COOKIE_FILE, value_name = "PATH")]
    pub(crate) cookie_file: Option<PathBuf>,

    /// Address for TCP links and UDP gossip (one port for both); port 0 picks a free one
    /// [default: 127.0.0.1:0]
    #[arg(long, env = env::LISTEN, value_name = "IP:PORT")]
    pub(crate) listen: Option<String>,

    /// The link address peers dial, when it is not the one bound (a NAT, a container); port 0
    /// is the bound port [default: the bound address; with 0.0.0.0, this host's first
    /// address that is not loopback]
    #[arg(long, env = env::ADVERTISE, value_name = "IP:PORT")]
    pub(crate) advertise: Option<String>,

    /// TLS on links: `required` (mutual TLS; plain peers are refused) or `off` (plain TCP;
    /// TLS peers are refused) [default: off]
    #[arg(long, env = env::TLS, value_name = "required|off")]
    pub(crate) tls: Option<String>,

    /// This node's certificate (PEM), signed by the --tls-ca CA (see `shoal certs gen`)
    #[arg(long, env = env::TLS_CERT, value_name = "PATH")]
    pub(crate) tls_cert: Option<PathBuf>,

    /// This node's private key (PEM)
    #[arg(long, env = env::TLS_KEY, value_name = "PATH")]
    pub(crate) tls_key: Option<PathBuf>,

    /// The CA certificate (PEM) every peer's certificate must chain to
    #[arg(long, env = env::TLS_CA, value_name = "PATH")]
    pub(crate) tls_ca: Option<PathBuf>,

    /// Address of the HTTP API; port 0 picks a free one [default: 127.0.0.1:0]
    #[arg(long, env = env::HTTP, value_name = "IP:PORT")]
    pub(crate) http: Option<String>,

    /// Run without the HTTP API (wins over --http and the `http` key of shoal.toml)
    #[arg(long, env = "SHOAL_NO_HTTP")]
    pub(crate) no_http: bool,

    /// Seed nodes to join through, comma-separated `host:port` (host names allowed)
    #[arg(
        long,
        env = env::SEEDS,
        value_name = "HOST:PORT,...",
        value_delimiter = ','
    )]
    pub(crate) seeds: Option<Vec<String>>,

    /// How to find peers, comma-separated: `static` (the --seeds), `local` (other nodes of
    /// this user on this host with the same cookie), `dns:NAME[:PORT]` (NAME's A/AAAA
    /// records, all on PORT, by default --listen's port), `dns-srv:NAME` (NAME's SRV records:
    /// host and port per node), `multicast[:GROUP:PORT]` (signed beacons to an IPv4 multicast
    /// group, by default 239.255.77.77:7710), or `none` alone [default: local,static]
    #[arg(long, env = env::DISCOVERY, value_name = "KIND,...", value_delimiter = ',')]
    pub(crate) discovery: Option<Vec<String>>,

    /// Pause between two lookups of each DNS name, and two multicast beacons, in
    /// milliseconds, varied by ±20% [default: 5000]
    #[arg(long, env = env::DISCOVERY_INTERVAL_MS, value_name = "MS")]
    pub(crate) discovery_interval_ms: Option<String>,

    /// IP time to live of multicast discovery's beacons, 1 to 255 [default: 1, the local link]
    #[arg(long, env = env::MULTICAST_TTL, value_name = "HOPS")]
    pub(crate) multicast_ttl: Option<String>,

    /// Directory used by `local` discovery [default: $XDG_RUNTIME_DIR/shoal, else
    /// $TMPDIR/shoal-<uid>]
    #[arg(long, env = env::LOCAL_DIR, value_name = "DIR")]
    pub(crate) local_dir: Option<PathBuf>,

    /// Roles advertised to peers, comma-separated (same characters as names)
    #[arg(long, env = env::ROLES, value_name = "ROLE,...", value_delimiter = ',')]
    pub(crate) roles: Option<Vec<String>>,

    /// Settings file; flags and SHOAL_* variables override its keys
    /// [default: ./shoal.toml if it exists]
    #[arg(long, env = "SHOAL_CONFIG", value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,

    /// Also write the one-line JSON ready event to this file
    #[arg(long, env = env::READY_FILE, value_name = "PATH")]
    pub(crate) ready_file: Option<PathBuf>,

    /// Log filter in tracing's EnvFilter syntax, e.g. `info,shoal_node=debug` [default: info]
    #[arg(long, env = env::LOG, value_name = "FILTER")]
    pub(crate) log: Option<String>,

    /// Interval between link heartbeats, in milliseconds [default: 100]
    #[arg(long, env = "SHOAL_HEARTBEAT_MS", value_name = "MS")]
    pub(crate) heartbeat_ms: Option<String>,

    /// Link silence after which a peer is suspect, in milliseconds [default: 500]
    #[arg(long, env = "SHOAL_LINK_SUSPECT_MS", value_name = "MS")]
    pub(crate) link_suspect_ms: Option<String>,

    /// Link silence after which a peer is down, in milliseconds [default: 1000]
    #[arg(long, env = "SHOAL_LINK_DOWN_MS", value_name = "MS")]
    pub(crate) link_down_ms: Option<String>,

    /// Interval between SWIM probes, in milliseconds [default: 500]
    #[arg(long, env = "SHOAL_PROBE_PERIOD_MS", value_name = "MS")]
    pub(crate) probe_period_ms: Option<String>,

    /// Token that HTTP requests which change the cluster must carry
    #[arg(long, env = env::ADMIN_TOKEN, value_name = "TOKEN", hide_env_values = true)]
    pub(crate) admin_token: Option<String>,

    /// Run the demo workload: supervised counters spread over the cluster (moved with their
    /// count on a graceful leave), a singleton clock and a process group
    #[arg(long, env = env::DEMO)]
    pub(crate) demo: bool,

    /// Spawn this many idle echo actors at start: a load for the dashboard and
    /// `shoal bench dashboard` (flag only)
    #[arg(long, value_name = "N", default_value_t = 0, hide = true)]
    pub(crate) idle_actors: usize,

    /// Leave the cluster and exit when standard input reaches end of file: for a launcher
    /// that pipes stdin so the node goes when it goes, even when killed (the test kit does)
    #[arg(long, env = env::LEAVE_ON_STDIN_EOF, value_parser = clap::builder::BoolishValueParser::new())]
    pub(crate) leave_on_stdin_eof: bool,

    /// Live members (this node included) the node needs to count as ready for
    /// `GET /health/ready` [default: 1]
    #[arg(long, env = env::READY_MIN_MEMBERS, value_name = "N")]
    pub(crate) ready_min_members: Option<String>,

    /// Check the settings and exit: resolve every flag, variable and shoal.toml key, read the
    /// cookie file, print the result (no secret) and exit 0, or print the error and exit 1.
    /// Binds no port and joins nobody (flag only; for `ExecStartPre=` and deploy checks)
    #[arg(long)]
    pub(crate) check: bool,
}

/// Shows a secret's presence, never its value.
pub(crate) fn redact(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<redacted>")
}

impl fmt::Debug for NodeArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeArgs")
            .field("name", &self.name)
            .field("cookie", &redact(&self.cookie))
            .field("cookie_file", &self.cookie_file)
            .field("listen", &self.listen)
            .field("advertise", &self.advertise)
            .field("tls", &self.tls)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("tls_ca", &self.tls_ca)
            .field("http", &self.http)
            .field("no_http", &self.no_http)
            .field("seeds", &self.seeds)
            .field("discovery", &self.discovery)
            .field("discovery_interval_ms", &self.discovery_interval_ms)
            .field("multicast_ttl", &self.multicast_ttl)
            .field("local_dir", &self.local_dir)
            .field("roles", &self.roles)
            .field("config", &self.config)
            .field("ready_file", &self.ready_file)
            .field("log", &self.log)
            .field("heartbeat_ms", &self.heartbeat_ms)
            .field("link_suspect_ms", &self.link_suspect_ms)
            .field("link_down_ms", &self.link_down_ms)
            .field("probe_period_ms", &self.probe_period_ms)
            .field("admin_token", &redact(&self.admin_token))
            .field("demo", &self.demo)
            .field("idle_actors", &self.idle_actors)
            .field("leave_on_stdin_eof", &self.leave_on_stdin_eof)
            .field("ready_min_members", &self.ready_min_members)
            .field("check", &self.check)
            .finish()
    }
}
