//! Settings of `shoal node`: flags > `SHOAL_*` environment > `shoal.toml` > defaults.
//!
//! clap merges each flag with its variable ([`NodeArgs`]); [`NodeArgs::resolve`] then fills the
//! gaps from `shoal.toml` ([`mod@file`]) and the defaults, and validates every value into
//! [`NodeSettings`]. Every error is one line that names the value, where it came from, and the
//! fix, e.g. `invalid --listen "127.0.0.1:70000": use IP:PORT with a port from 0 to 65535, e.g.
//! 127.0.0.1:0`.
//!
//! Defaults: name `<hostname>-<pid>`; listen and http `127.0.0.1:0`; discovery `local,static`
//! (DNS names, `dns:NAME[:PORT]` and `dns-srv:NAME`, are polled, and `multicast` beacons
//! sent with TTL 1, every 5 s ±20%)
//! (`local` finds this user's nodes on this host that share the cookie, `static` dials the
//! seeds, of which there are none by default); log `info`; timings from
//! [`MembershipConfig::lan`]; cookie from `~/.shoal.cookie`, created if missing.

mod args;
mod context;
mod cookie;
mod file;
mod summary;
mod tls;
mod value;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail};
use shoal_node::DEFAULT_DISCOVERY_INTERVAL;
use shoal_node::discovery::{DnsQuery, MulticastDiscovery};
use shoal_node::tls::TlsFiles;
use shoal_proto::{Cookie, MembershipConfig, NodeName};

pub(crate) use args::NodeArgs;
pub(crate) use context::Context;
pub(crate) use cookie::CookieSource;
use cookie::{CookieInputs, Secret, resolve_cookie};
use file::{FileSettings, HttpSetting};
use value::{Sourced, pick};

/// Address used for `--listen` and `--http` when none is given: loopback, any free port.
pub(crate) const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// Validated settings of one node. `Debug` shows no secret.
#[derive(Clone)]
pub(crate) struct NodeSettings {
    /// Unique name in the cluster.
    pub(crate) name: NodeName,
    /// The cluster's shared secret. Never log it; log [`Self::cookie_source`] instead.
    pub(crate) cookie: Cookie,
    /// Where the cookie came from.
    pub(crate) cookie_source: CookieSource,
    /// The same secret as bytes, see [`Self::cookie_bytes`].
    cookie_secret: Secret,
    /// The shoal.toml that was read, if any.
    pub(crate) config_file: Option<PathBuf>,
    /// TCP link listener and UDP gossip socket (same address); port 0 picks a free one.
    pub(crate) listen: SocketAddr,
    /// The link address peers dial, if not the bound one.
    pub(crate) advertise: Option<SocketAddr>,
    /// The TLS files of `--tls required`; `None` with `--tls off`.
    pub(crate) tls: Option<TlsFiles>,
    /// HTTP API address; `None` with `--no-http`.
    pub(crate) http: Option<SocketAddr>,
    /// Static seeds as `host:port` (host names unresolved), without repeats; empty when
    /// static discovery is off.
    pub(crate) seeds: Vec<String>,
    /// Whether `local` discovery is on.
    pub(crate) local_discovery: bool,
    /// Whether `static` discovery (dialling [`Self::seeds`]) is on.
    pub(crate) static_discovery: bool,
    /// DNS names to poll (`dns:` and `dns-srv:` in `--discovery`).
    pub(crate) dns: Vec<DnsQuery>,
    /// Multicast discovery's group and TTL (`multicast` in `--discovery`).
    pub(crate) multicast: Option<MulticastDiscovery>,
    /// Pause between two lookups of each DNS name, and two multicast beacons (±20%).
    pub(crate) discovery_interval: Duration,
    /// Base directory of `local` discovery (set even when it is off).
    pub(crate) local_dir: PathBuf,
    /// Roles advertised to peers, without repeats.
    pub(crate) roles: Vec<String>,
    /// Where to also write the ready event.
    pub(crate) ready_file: Option<PathBuf>,
    /// Tracing filter (already checked to parse as an `EnvFilter`).
    pub(crate) log: String,
    /// Membership and failure-detection timing, validated.
    pub(crate) membership: MembershipConfig,
    /// Token required by mutating HTTP requests.
    pub(crate) admin_token: Option<String>,
    /// Whether to run the demo workload.
    pub(crate) demo: bool,
    /// Idle echo actors to spawn at start (`--idle-actors`, for benchmarks).
    pub(crate) idle_actors: usize,
    /// Whether to leave when stdin reaches end of file (flag or environment only).
    pub(crate) leave_on_stdin_eof: bool,
    /// Live members needed to count as ready (`GET /health/ready`), at least 1.
    pub(crate) ready_min_members: usize,
    /// Lines to log at warn level, e.g. a cookie file other users can read.
    pub(crate) warnings: Vec<String>,
}

impl NodeSettings {
    /// The cookie's secret bytes (what [`Self::cookie`] holds), for APIs such as
    /// `NodeBuilder::cookie` that take bytes. Never log them.
    pub(crate) fn cookie_bytes(&self) -> &[u8] {
        self.cookie_secret.as_bytes()
    }
}

impl fmt::Debug for NodeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeSettings")
            .field("name", &self.name)
            .field("cookie", &self.cookie)
            .field("cookie_source", &self.cookie_source)
            .field("config_file", &self.config_file)
            .field("listen", &self.listen)
            .field("advertise", &self.advertise)
            .field("tls", &self.tls)
            .field("http", &self.http)
            .field("seeds", &self.seeds)
            .field("local_discovery", &self.local_discovery)
            .field("static_discovery", &self.static_discovery)
            .field("dns", &self.dns)
            .field("multicast", &self.multicast)
            .field("discovery_interval", &self.discovery_interval)
            .field("local_dir", &self.local_dir)
            .field("roles", &self.roles)
            .field("ready_file", &self.ready_file)
            .field("log", &self.log)
            .field("membership", &self.membership)
            .field("admin_token", &args::redact(&self.admin_token))
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl NodeArgs {
    /// Fills the gaps in the flags from `shoal.toml` and the defaults of this process, and
    /// validates everything. Creates `~/.shoal.cookie` when no cookie is given and it is
    /// missing. The error is one line naming the value and the fix.
    pub(crate) fn resolve(self) -> anyhow::Result<NodeSettings> {
        self.resolve_in(&Context::from_process())
    }

    /// [`Self::resolve`] with the process facts given by the caller.
    pub(crate) fn resolve_in(self, ctx: &Context) -> anyhow::Result<NodeSettings> {
        let config_file = file::locate(self.config.as_deref(), &ctx.cwd)?;
        let file = match &config_file {
            Some(path) => FileSettings::load(path)?,
            None => FileSettings::default(),
        };
        let at = config_file.as_deref();
        let membership = membership(self.timing(&file, at))?;
        let mut warnings = Vec::new();
        let name = match pick("--name", self.name, file.name, at) {
            Some(Sourced { value, label }) => value::name(&label, &value)?,
            None => value::name("default name", &ctx.default_name)?,
        };
        let listen = pick("--listen", self.listen, file.listen, at)
            .map_or(Ok(DEFAULT_ADDR), |s| value::bind_addr(&s.label, &s.value))?;
        let advertise = pick("--advertise", self.advertise, file.advertise, at)
            .map(|s| value::bind_addr(&s.label, &s.value))
            .transpose()?;
        let tls = tls::resolve(tls::TlsInputs {
            mode: pick("--tls", self.tls, file.tls, at),
            cert: pick("--tls-cert", self.tls_cert, file.tls_cert, at),
            key: pick("--tls-key", self.tls_key, file.tls_key, at),
            ca: pick("--tls-ca", self.tls_ca, file.tls_ca, at),
        })?;
        let http = http(self.no_http, self.http, file.http, at)?;
        let (seeds, found) = discovery(
            pick("--seeds", self.seeds, file.seeds, at),
            pick("--discovery", self.discovery, file.discovery, at),
            // `dns:NAME` without a port: the port peers dial.
            advertise
                .map(|a| a.port())
                .filter(|p| *p != 0)
                .unwrap_or(listen.port()),
            &mut warnings,
        )?;
        let discovery_interval = pick(
            "--discovery-interval-ms",
            self.discovery_interval_ms,
            file.discovery_interval_ms.map(|n| n.to_string()),
            at,
        )
        .map_or(Ok(DEFAULT_DISCOVERY_INTERVAL), |s| {
            value::millis(&s.label, &s.value)
        })?;
        let multicast_ttl = pick(
            "--multicast-ttl",
            self.multicast_ttl,
            file.multicast_ttl.map(|n| n.to_string()),
            at,
        )
        .map_or(Ok(shoal_node::discovery::DEFAULT_TTL), |s| {
            value::ttl(&s.label, &s.value)
        })?;
        let roles = pick("--roles", self.roles, file.roles, at)
            .map_or(Ok(Vec::new()), |s| value::roles(&s.label, &s.value))?;
        let log = pick("--log", self.log, file.log, at)
            .map_or(Ok("info".to_string()), |s| value::log_filter(&s.label, &s.value))?;
        let ready_min_members = pick(
            "--ready-min-members",
            self.ready_min_members,
            file.ready_min_members.map(|n| n.to_string()),
            at,
        )
        .map_or(Ok(1), |s| value::members(&s.label, &s.value))?;
        let admin_token = pick("--admin-token", self.admin_token, file.admin_token, at)
            .map(|s| value::token(&s.label, &s.value))
            .transpose()?;
        // Last, as it may create ~/.shoal.cookie: not worth doing for settings that fail.
        let args = (self.cookie.as_deref(), self.cookie_file.as_deref());
        let cookie = cookie(
            args,
            (file.cookie.as_deref(), file.cookie_file.as_deref()),
            at,
            ctx,
        )?;
        warnings.extend(cookie.warning);
        let local_dir = self.local_dir.or(file.local_dir);
        Ok(NodeSettings {
            name,
            cookie: cookie.cookie,
            cookie_source: cookie.source,
            cookie_secret: cookie.secret,
            listen,
            advertise,
            tls,
            http,
            seeds,
            local_discovery: found.local,
            static_discovery: found.fixed,
            dns: found.dns,
            multicast: found.multicast.map(|group| MulticastDiscovery {
                group,
                ttl: multicast_ttl,
            }),
            discovery_interval,
            local_dir: local_dir.unwrap_or_else(|| ctx.default_local_dir.clone()),
            roles,
            ready_file: self.ready_file.or(file.ready_file),
            log,
            membership,
            admin_token,
            demo: self.demo,
            idle_actors: self.idle_actors,
            leave_on_stdin_eof: self.leave_on_stdin_eof,
            ready_min_members,
            warnings,
            config_file,
        })
    }

    /// The timing overrides, in the order [`membership`] takes them.
    fn timing(&self, file: &FileSettings, at: Option<&Path>) -> [Option<Sourced<String>>; 4] {
        let overrides = [
            ("--heartbeat-ms", &self.heartbeat_ms, file.heartbeat_ms),
            ("--link-suspect-ms", &self.link_suspect_ms, file.link_suspect_ms),
            ("--link-down-ms", &self.link_down_ms, file.link_down_ms),
            ("--probe-period-ms", &self.probe_period_ms, file.probe_period_ms),
        ];
        overrides.map(|(flag, arg, key)| pick(flag, arg.clone(), key.map(|ms| ms.to_string()), at))
    }
}

/// The cookie, by the precedence of [`resolve_cookie`]. `args` are `--cookie` (or
/// `SHOAL_COOKIE`) and `--cookie-file` (or `SHOAL_COOKIE_FILE`); `keys` are `cookie` and
/// `cookie_file` of the shoal.toml at `at`.
fn cookie(
    args: (Option<&str>, Option<&Path>),
    keys: (Option<&str>, Option<&Path>),
    at: Option<&Path>,
    ctx: &Context,
) -> anyhow::Result<cookie::ResolvedCookie> {
    if let (Some(_), Some(_), Some(path)) = (keys.0, keys.1, at) {
        bail!(
            "invalid shoal.toml at {}: it sets both cookie and cookie_file; keep one",
            path.display()
        );
    }
    let value = args
        .0
        .map(|secret| match ctx.env_cookie.as_deref() == Some(secret) {
            true => (secret, CookieSource::Env),
            false => (secret, CookieSource::Flag),
        });
    resolve_cookie(CookieInputs {
        value,
        file: args.1.or(keys.1),
        config: keys.0.zip(at),
        home: ctx.home.as_deref(),
    })
}

/// Seeds and the discovery strategies (`dns:NAME` takes `listen_port`). Seeds are dropped,
/// with a warning, when static discovery is off, so that callers can pass them on as they are.
fn discovery(
    seeds: Option<Sourced<Vec<String>>>,
    kinds: Option<Sourced<Vec<String>>>,
    listen_port: u16,
    warnings: &mut Vec<String>,
) -> anyhow::Result<(Vec<String>, value::Discovery)> {
    let mut seeds = seeds.map_or(Ok(Vec::new()), |s| value::seeds(&s.label, &s.value))?;
    let default = value::Discovery {
        local: true,
        fixed: true,
        ..value::Discovery::default()
    };
    let found = kinds.map_or(Ok(default), |s| value::discovery(&s.label, &s.value, listen_port))?;
    if !found.fixed && !seeds.is_empty() {
        warnings.push(format!(
            "ignoring seeds {}: discovery does not include static",
            seeds.join(",")
        ));
        seeds.clear();
    }
    Ok((seeds, found))
}

/// The HTTP address: `--no-http` wins, then `--http`, then the `http` key, then the default.
fn http(
    no_http: bool,
    from_args: Option<String>,
    from_file: Option<HttpSetting>,
    at: Option<&Path>,
) -> anyhow::Result<Option<SocketAddr>> {
    if no_http {
        return Ok(None);
    }
    if let Some(v) = from_args {
        return value::bind_addr("--http", &v).map(Some);
    }
    match from_file {
        Some(HttpSetting::Addr(v)) => value::bind_addr(&value::file_label("--http", at), &v).map(Some),
        Some(HttpSetting::Enabled(false)) => Ok(None),
        Some(HttpSetting::Enabled(true)) | None => Ok(Some(DEFAULT_ADDR)),
    }
}

/// [`MembershipConfig::lan`] with the heartbeat, link-suspect, link-down and probe-period
/// overrides (in that order), validated; a cross-field error names the flags.
fn membership(overrides: [Option<Sourced<String>>; 4]) -> anyhow::Result<MembershipConfig> {
    let mut config = MembershipConfig::lan();
    let [heartbeat, suspect, down, probe] = overrides;
    let fields = [
        (heartbeat, &mut config.heartbeat_interval),
        (suspect, &mut config.link_suspect_after),
        (down, &mut config.link_down_after),
        (probe, &mut config.probe_period),
    ];
    for (over, field) in fields {
        if let Some(s) = over {
            *field = value::millis(&s.label, &s.value)?;
        }
    }
    config.validate().map_err(|e| {
        let flags = [
            ("heartbeat_interval", "--heartbeat-ms"),
            ("link_suspect_after", "--link-suspect-ms"),
            ("link_down_after", "--link-down-ms"),
            ("probe_period", "--probe-period-ms"),
        ];
        let rename = |text: &str| {
            flags
                .iter()
                .fold(text.to_string(), |t, (f, flag)| t.replace(f, flag))
        };
        anyhow!("invalid {} {:?}: {}", rename(&e.field), e.value, rename(&e.fix))
    })
}

#[cfg(test)]
pub(crate) mod tests;
