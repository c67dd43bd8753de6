//! Settings of `shoal node`: flags > `SHOAL_*` environment > `shoal.toml` > defaults.
//!
//! clap merges each flag with its variable ([`NodeArgs`]); [`NodeArgs::resolve`] then fills the
//! gaps from `shoal.toml` ([`file`]) and the defaults, and validates every value into
//! [`NodeSettings`]. Every error is one line that names the value, where it came from, and the
//! fix, e.g. `invalid --listen "127.0.0.1:70000": use IP:PORT with a port from 0 to 65535, e.g.
//! 127.0.0.1:0`.
//!
//! Defaults: name `<hostname>-<pid>`; listen and http `127.0.0.1:0`; discovery `local,static`
//! (`local` finds this user's nodes on this host that share the cookie, `static` dials the
//! seeds, of which there are none by default); log `info`; timings from
//! [`MembershipConfig::lan`]; cookie from `~/.shoal.cookie`, created if missing.

mod args;
mod context;
mod cookie;
mod file;
mod value;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use shoal_proto::{Cookie, MembershipConfig, NodeName};

pub(crate) use args::NodeArgs;
pub(crate) use context::Context;
pub(crate) use cookie::CookieSource;
use cookie::{CookieInputs, resolve_cookie};
use file::{FileSettings, HttpSetting};
use value::{Sourced, pick};

/// Address used for `--listen` and `--http` when none is given: loopback, any free port.
pub(crate) const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// Validated settings of one node.
#[derive(Clone, Debug)]
pub(crate) struct NodeSettings {
    /// Unique name in the cluster.
    pub(crate) name: NodeName,
    /// The cluster's shared secret. Never log it; log [`Self::cookie_source`] instead.
    pub(crate) cookie: Cookie,
    /// Where the cookie came from.
    pub(crate) cookie_source: CookieSource,
    /// The shoal.toml that was read, if any.
    pub(crate) config_file: Option<PathBuf>,
    /// TCP link listener and UDP gossip socket (same address); port 0 picks a free one.
    pub(crate) listen: SocketAddr,
    /// HTTP API address; `None` with `--no-http`.
    pub(crate) http: Option<SocketAddr>,
    /// Static seeds as `host:port` (host names unresolved), without repeats.
    pub(crate) seeds: Vec<String>,
    /// Whether `local` discovery is on.
    pub(crate) local_discovery: bool,
    /// Whether `static` discovery (dialling [`Self::seeds`]) is on.
    pub(crate) static_discovery: bool,
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
    /// Lines to log at warn level, e.g. a cookie file other users can read.
    pub(crate) warnings: Vec<String>,
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
        let mut warnings = Vec::new();
        let cookie = self.cookie(&file, at, ctx)?;
        warnings.extend(cookie.warning);
        let name = match pick("--name", self.name, file.name, at) {
            Some(Sourced { value, label }) => value::name(&label, &value)?,
            None => value::name("default name", &ctx.default_name)?,
        };
        let listen = pick("--listen", self.listen, file.listen, at)
            .map_or(Ok(DEFAULT_ADDR), |s| value::bind_addr(&s.label, &s.value))?;
        let http = http(self.no_http, self.http, file.http, at)?;
        let seeds = pick("--seeds", self.seeds, file.seeds, at)
            .map_or(Ok(Vec::new()), |s| value::seeds(&s.label, &s.value))?;
        let (local_discovery, static_discovery) = pick("--discovery", self.discovery, file.discovery, at)
            .map_or(Ok((true, true)), |s| value::discovery(&s.label, &s.value))?;
        if !static_discovery && !seeds.is_empty() {
            warnings.push("seeds are ignored: discovery does not include static".to_string());
        }
        let roles = pick("--roles", self.roles, file.roles, at)
            .map_or(Ok(Vec::new()), |s| value::roles(&s.label, &s.value))?;
        let log = pick("--log", self.log, file.log, at)
            .map_or(Ok("info".to_string()), |s| value::log_filter(&s.label, &s.value))?;
        let admin_token = pick("--admin-token", self.admin_token, file.admin_token, at)
            .map(|s| value::token(&s.label, &s.value))
            .transpose()?;
        let membership = membership(
            [
                pick("--heartbeat-ms", self.heartbeat_ms, file.heartbeat_ms.map(|v| v.to_string()), at),
                pick("--link-suspect-ms", self.link_suspect_ms, file.link_suspect_ms.map(|v| v.to_string()), at),
                pick("--link-down-ms", self.link_down_ms, file.link_down_ms.map(|v| v.to_string()), at),
                pick("--probe-period-ms", self.probe_period_ms, file.probe_period_ms.map(|v| v.to_string()), at),
            ],
        )?;
        Ok(NodeSettings {
            name,
            cookie: cookie.cookie,
            cookie_source: cookie.source,
            listen,
            http,
            seeds,
            local_discovery,
            static_discovery,
            local_dir: self.local_dir.or(file.local_dir).unwrap_or_else(|| ctx.default_local_dir.clone()),
            roles,
            ready_file: self.ready_file.or(file.ready_file),
            log,
            membership,
            admin_token,
            warnings,
            config_file,
        })
    }

    /// The cookie, by the precedence of [`resolve_cookie`].
    fn cookie(&self, file: &FileSettings, at: Option<&Path>, ctx: &Context) -> anyhow::Result<cookie::ResolvedCookie> {
        if file.cookie.is_some() && file.cookie_file.is_some() {
            let path = at.map(|p| p.display().to_string()).unwrap_or_default();
            anyhow::bail!("invalid shoal.toml at {path}: it sets both cookie and cookie_file; keep one");
        }
        let value = self.cookie.as_deref().map(|secret| {
            let from_env = ctx.env_cookie.as_deref() == Some(secret);
            (secret, if from_env { CookieSource::Env } else { CookieSource::Flag })
        });
        resolve_cookie(CookieInputs {
            value,
            file: self.cookie_file.as_deref().or(file.cookie_file.as_deref()),
            config: file.cookie.as_deref().zip(at),
            home: ctx.home.as_deref(),
        })
    }
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
        let rename = |text: &str| flags.iter().fold(text.to_string(), |t, (f, flag)| t.replace(f, flag));
        anyhow!("invalid {} {:?}: {}", rename(&e.field), e.value, rename(&e.fix))
    })
}

#[cfg(test)]
pub(crate) mod tests;
