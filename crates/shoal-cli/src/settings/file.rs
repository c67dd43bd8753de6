//! `shoal.toml`: the same settings as the flags, as snake_case keys at the top level.
//!
//! ```toml
//! name = "n1"
//! cookie_file = "cluster.cookie"   # relative paths are relative to this file's directory
//! listen = "0.0.0.0:7000"
//! tls = "required"                 # with tls_cert, tls_key and tls_ca (paths)
//! http = false                     # or "127.0.0.1:8080"
//! seeds = ["db1.lan:7000", "10.0.0.2:7000"]
//! discovery = ["static", "dns:shoal.internal:7000"]
//! discovery_interval_ms = 5000
//! multicast_ttl = 1                # with "multicast" in discovery
//! roles = ["web"]
//! log = "info,shoal_node=debug"
//! heartbeat_ms = 100
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use serde::de::{self, Deserializer, Visitor};

/// The keys of `shoal.toml`; any other key is an error. Units are as for the flags. No
/// `Debug`: it holds secrets.
#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileSettings {
    /// See `--name`.
    pub(crate) name: Option<String>,
    /// The cluster's secret itself; prefer `cookie_file`.
    pub(crate) cookie: Option<String>,
    /// See `--cookie-file`; relative to the directory of `shoal.toml`.
    pub(crate) cookie_file: Option<PathBuf>,
    /// See `--listen`.
    pub(crate) listen: Option<String>,
    /// See `--advertise`.
    pub(crate) advertise: Option<String>,
    /// See `--tls`: `required` or `off`.
    pub(crate) tls: Option<String>,
    /// See `--tls-cert`; relative to the directory of `shoal.toml`.
    pub(crate) tls_cert: Option<PathBuf>,
    /// See `--tls-key`; relative to the directory of `shoal.toml`.
    pub(crate) tls_key: Option<PathBuf>,
    /// See `--tls-ca`; relative to the directory of `shoal.toml`.
    pub(crate) tls_ca: Option<PathBuf>,
    /// See `--http`; `false` is `--no-http`, `true` is the default address.
    #[serde(default, deserialize_with = "http_setting")]
    pub(crate) http: Option<HttpSetting>,
    /// See `--seeds`.
    pub(crate) seeds: Option<Vec<String>>,
    /// See `--discovery`.
    pub(crate) discovery: Option<Vec<String>>,
    /// See `--discovery-interval-ms`, in milliseconds.
    pub(crate) discovery_interval_ms: Option<u64>,
    /// See `--multicast-ttl`.
    pub(crate) multicast_ttl: Option<u64>,
    /// See `--local-dir`; relative to the directory of `shoal.toml`.
    pub(crate) local_dir: Option<PathBuf>,
    /// See `--roles`.
    pub(crate) roles: Option<Vec<String>>,
    /// See `--ready-file`; relative to the directory of `shoal.toml`.
    pub(crate) ready_file: Option<PathBuf>,
    /// See `--log`.
    pub(crate) log: Option<String>,
    /// See `--heartbeat-ms`, in milliseconds.
    pub(crate) heartbeat_ms: Option<u64>,
    /// See `--link-suspect-ms`, in milliseconds.
    pub(crate) link_suspect_ms: Option<u64>,
    /// See `--link-down-ms`, in milliseconds.
    pub(crate) link_down_ms: Option<u64>,
    /// See `--probe-period-ms`, in milliseconds.
    pub(crate) probe_period_ms: Option<u64>,
    /// See `--admin-token`.
    pub(crate) admin_token: Option<String>,
    /// See `--ready-min-members`.
    pub(crate) ready_min_members: Option<u64>,
}

/// The `http` key: an address, or a switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HttpSetting {
    /// `http = "IP:PORT"`.
    Addr(String),
    /// `http = true` (the default address) or `http = false` (no HTTP API).
    Enabled(bool),
}

impl FileSettings {
    /// Reads and parses the file at `path`, making its relative paths relative to its
    /// directory. Errors are one line naming the file and the fix.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow!(
                "cannot read shoal.toml at {}: {e}; check the path and permissions or pass --config",
                path.display()
            )
        })?;
        let mut settings = Self::parse(&text).map_err(|message| {
            anyhow!(
                "invalid shoal.toml at {}: {message}; fix the file or pass --config",
                path.display()
            )
        })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for p in [
            &mut settings.cookie_file,
            &mut settings.local_dir,
            &mut settings.ready_file,
            &mut settings.tls_cert,
            &mut settings.tls_key,
            &mut settings.tls_ca,
        ] {
            if let Some(p) = p.as_mut().filter(|p| p.is_relative()) {
                *p = dir.join(&*p);
            }
        }
        Ok(settings)
    }

    /// Parses `text`; the error is one line: where, and toml's message.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e: toml::de::Error| {
            let message = e.message().lines().next().unwrap_or("malformed TOML").trim_end();
            match e.span() {
                Some(span) => {
                    let (line, column) = line_column(text, span.start);
                    format!("line {line}, column {column}: {message}")
                }
                None => message.to_string(),
            }
        })
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Finds `shoal.toml`: the `--config` path, which must exist, else `./shoal.toml` if it exists.
pub(crate) fn locate(explicit: Option<&Path>, cwd: &Path) -> anyhow::Result<Option<PathBuf>> {
    match explicit {
        Some(path) => {
            let full = cwd.join(path);
            if let Err(e) = std::fs::metadata(&full) {
                bail!("invalid --config {path:?}: {e}; create the file or drop --config");
            }
            Ok(Some(full))
        }
        None => Ok(Some(cwd.join("shoal.toml")).filter(|p| p.is_file())),
    }
}

fn http_setting<'de, D: Deserializer<'de>>(d: D) -> Result<Option<HttpSetting>, D::Error> {
    struct HttpVisitor;
    impl Visitor<'_> for HttpVisitor {
        type Value = HttpSetting;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an \"IP:PORT\" string, or false to run without the HTTP API")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<HttpSetting, E> {
            Ok(HttpSetting::Addr(v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<HttpSetting, E> {
            Ok(HttpSetting::Enabled(v))
        }
    }
    d.deserialize_any(HttpVisitor).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_key_takes_an_address_or_a_switch() {
        let f = FileSettings::parse("http = false").unwrap();
        assert_eq!(f.http, Some(HttpSetting::Enabled(false)));
        let f = FileSettings::parse("http = \"127.0.0.1:8080\"").unwrap();
        assert_eq!(f.http, Some(HttpSetting::Addr("127.0.0.1:8080".into())));
        let Err(err) = FileSettings::parse("http = 80") else {
            panic!("80 is no address")
        };
        assert!(err.contains("IP:PORT"), "{err}");
    }

    #[test]
    fn parse_error_names_the_line_and_the_unknown_key() {
        let Err(err) = FileSettings::parse("name = \"a\"\nnmae = \"b\"\n") else {
            panic!("accepted")
        };
        assert!(err.starts_with("line 2, column 1: unknown field `nmae`"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
