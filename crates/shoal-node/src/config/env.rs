//! `Node::from_env()`: the settings a launcher passes to a node binary as `SHOAL_*` variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use shoal_api::env;
use shoal_proto::ConfigError;

use super::NodeBuilder;
use crate::discovery::{DnsQuery, LocalDirectory, MulticastDiscovery};
use crate::tls::{TlsConfig, TlsFiles};

/// Reads one variable through `lookup` (the process environment in production).
type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl NodeBuilder {
    /// Fills the builder from the process environment; see [`NodeBuilder::from_env_with`].
    pub fn from_env() -> Self {
        Self::from_env_with(&|key| std::env::var(key).ok())
    }

    /// Fills the builder from `SHOAL_*` variables read through `lookup`:
    ///
    /// | variable | meaning | if unset |
    /// |---|---|---|
    /// | `SHOAL_NAME` | node name | `node-<pid>` |
    /// | `SHOAL_COOKIE` or `SHOAL_COOKIE_FILE` | the cluster secret | error: one is required |
    /// | `SHOAL_LISTEN` | link and gossip address | `127.0.0.1:0` |
    /// | `SHOAL_ADVERTISE` | the link address peers dial, if not the bound one | the bound address |
    /// | `SHOAL_HTTP` | HTTP address to advertise | none |
    /// | `SHOAL_SEEDS` | comma-separated `host:port` | none |
    /// | `SHOAL_DISCOVERY` | comma list of `static`, `local`, `dns:NAME[:PORT]` (port: `SHOAL_ADVERTISE`'s unless 0, else `SHOAL_LISTEN`'s), `dns-srv:NAME`, `multicast[:GROUP:PORT]`, or `none` | `local,static` |
    /// | `SHOAL_DISCOVERY_INTERVAL_MS` | ms between two lookups of a DNS name, or two multicast beacons (±20%) | `5000` |
    /// | `SHOAL_MULTICAST_TTL` | multicast beacons' TTL, 1 to 255 | `1` |
    /// | `SHOAL_LOCAL_DIR` | same-host discovery directory | [`LocalDirectory::default_base`] |
    /// | `SHOAL_ROLES` | comma-separated roles | none |
    /// | `SHOAL_LEAVE_ON_STDIN_EOF` | `true` or `false`: [`NodeBuilder::leave_on_stdin_eof`] | `false` |
    /// | `SHOAL_READY_MIN_MEMBERS` | a whole number above 0: [`NodeBuilder::ready_min_members`] | `1` |
    /// | `SHOAL_TLS` | `required` (with `SHOAL_TLS_CERT`, `SHOAL_TLS_KEY`, `SHOAL_TLS_CA`: PEM files, read at once) or `off`: [`NodeBuilder::tls`] | `off` |
    /// | `SHOAL_ADMIN_TOKEN` | the HTTP API's admin token, trimmed: [`NodeBuilder::admin_token`] | none |
    ///
    /// Errors surface from [`NodeBuilder::build`] / [`NodeBuilder::start`], naming the variable.
    pub fn from_env_with(lookup: Lookup<'_>) -> Self {
        let mut builder = NodeBuilder::new();
        if let Some(name) = lookup(env::NAME) {
            builder = builder.name(&name);
        }
        builder = match cookie(lookup) {
            Ok(secret) => builder.cookie(secret),
            Err(e) => builder.fail(e),
        };
        // `dns:NAME` without a port takes the advertised port (unless 0), else the listen port.
        let mut dns_port = 0;
        for var in [env::LISTEN, env::HTTP, env::ADVERTISE] {
            let Some(text) = lookup(var) else { continue };
            builder = match text.parse::<SocketAddr>() {
                Ok(addr) if var == env::LISTEN => {
                    dns_port = addr.port();
                    builder.listen(addr)
                }
                Ok(addr) if var == env::HTTP => builder.http(Some(addr)),
                Ok(addr) => {
                    if addr.port() != 0 {
                        dns_port = addr.port();
                    }
                    builder.advertise(Some(addr))
                }
                Err(_) => builder.fail(ConfigError::invalid(
                    var,
                    &text,
                    "use IP:PORT with a port from 0 to 65535",
                )),
            };
        }
        let discovery = list(lookup(env::DISCOVERY)).unwrap_or_else(|| vec!["local".into(), "static".into()]);
        let mut dns = Vec::new();
        let mut multicast = None;
        for kind in &discovery {
            match MulticastDiscovery::parse(kind) {
                Ok(Some(group)) => {
                    multicast = Some(MulticastDiscovery {
                        group,
                        ..MulticastDiscovery::default()
                    });
                    continue;
                }
                Ok(None) => {}
                Err(fix) => return builder.fail(ConfigError::invalid(env::DISCOVERY, kind, &fix)),
            }
            match DnsQuery::parse(kind, dns_port) {
                Ok(Some(query)) => dns.push(query),
                Ok(None) if matches!(kind.as_str(), "static" | "local" | "none") => {}
                Ok(None) => {
                    let fix =
                        "use static, local, dns:NAME[:PORT], dns-srv:NAME, multicast[:GROUP:PORT] or none";
                    return builder.fail(ConfigError::invalid(env::DISCOVERY, kind, fix));
                }
                Err(fix) => return builder.fail(ConfigError::invalid(env::DISCOVERY, kind, &fix)),
            }
        }
        builder = builder.dns_discovery(dns);
        if let (Some(mc), Some(text)) = (&mut multicast, lookup(env::MULTICAST_TTL)) {
            match MulticastDiscovery::parse_ttl(&text) {
                Ok(ttl) => mc.ttl = ttl,
                Err(fix) => return builder.fail(ConfigError::invalid(env::MULTICAST_TTL, &text, &fix)),
            }
        }
        builder = builder.multicast_discovery(multicast);
        if let Some(text) = lookup(env::DISCOVERY_INTERVAL_MS) {
            builder = match text.trim().parse::<u64>() {
                Ok(ms) if ms > 0 => builder.discovery_interval(std::time::Duration::from_millis(ms)),
                _ => {
                    let why = "use a whole number of milliseconds above 0, e.g. 5000";
                    return builder.fail(ConfigError::invalid(env::DISCOVERY_INTERVAL_MS, &text, why));
                }
            };
        }
        if discovery.iter().any(|d| d == "static") {
            builder = builder.seeds(list(lookup(env::SEEDS)).unwrap_or_default());
        }
        if discovery.iter().any(|d| d == "local") {
            let dir = lookup(env::LOCAL_DIR).map_or_else(LocalDirectory::default_base, PathBuf::from);
            builder = builder.local_discovery(Some(dir));
        }
        builder = match flag(lookup, env::LEAVE_ON_STDIN_EOF) {
            Ok(on) => builder.leave_on_stdin_eof(on),
            Err(e) => return builder.fail(e),
        };
        if let Some(text) = lookup(env::READY_MIN_MEMBERS) {
            builder = match text.trim().parse::<usize>() {
                Ok(min) if min > 0 => builder.ready_min_members(min),
                _ => {
                    let why = "use a whole number of members above 0, e.g. 3";
                    return builder.fail(ConfigError::invalid(env::READY_MIN_MEMBERS, &text, why));
                }
            };
        }
        builder = match tls(lookup) {
            Ok(tls) => builder.tls(tls),
            Err(e) => return builder.fail(e),
        };
        builder
            .roles(list(lookup(env::ROLES)).unwrap_or_default())
            .admin_token(lookup(env::ADMIN_TOKEN).map(|t| t.trim().to_owned()))
    }
}

/// `SHOAL_TLS=required` with `SHOAL_TLS_CERT`, `SHOAL_TLS_KEY` and `SHOAL_TLS_CA`, read
/// now; `off` or unset is plain TCP.
fn tls(lookup: Lookup<'_>) -> Result<Option<TlsConfig>, ConfigError> {
    match lookup(env::TLS).as_deref().map(str::trim) {
        None | Some("off" | "") => return Ok(None),
        Some("required") => {}
        Some(other) => return Err(ConfigError::invalid(env::TLS, other, "use required or off")),
    }
    let file = |var: &str| {
        lookup(var).map(PathBuf::from).ok_or_else(|| {
            ConfigError::invalid(
                var,
                "",
                "SHOAL_TLS=required needs SHOAL_TLS_CERT, SHOAL_TLS_KEY and SHOAL_TLS_CA",
            )
        })
    };
    let files = TlsFiles {
        cert: file(env::TLS_CERT)?,
        key: file(env::TLS_KEY)?,
        ca: file(env::TLS_CA)?,
    };
    TlsConfig::from_files(files)
        .map(Some)
        .map_err(|e| ConfigError::invalid(env::TLS, "required", &e.to_string()))
}

/// A yes/no variable: `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`, `y`/`n`, `t`/`f` in any
/// case (as `shoal node` reads its flags from the environment); unset or empty is no.
fn flag(lookup: Lookup<'_>, var: &str) -> Result<bool, ConfigError> {
    let Some(text) = lookup(var) else {
        return Ok(false);
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "off" | "n" | "f" => Ok(false),
        "1" | "true" | "yes" | "on" | "y" | "t" => Ok(true),
        _ => Err(ConfigError::invalid(var, &text, "use true or false")),
    }
}

fn cookie(lookup: Lookup<'_>) -> Result<Vec<u8>, ConfigError> {
    if let Some(secret) = lookup(env::COOKIE) {
        return Ok(secret.into_bytes());
    }
    let Some(path) = lookup(env::COOKIE_FILE) else {
        return Err(ConfigError::invalid(
            env::COOKIE,
            "",
            "set SHOAL_COOKIE or SHOAL_COOKIE_FILE",
        ));
    };
    std::fs::read(&path).map_err(|e| {
        ConfigError::invalid(
            env::COOKIE_FILE,
            &path,
            &format!("cannot read it ({e}); check the path and permissions"),
        )
    })
}

fn list(value: Option<String>) -> Option<Vec<String>> {
    let value = value?;
    Some(
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn builder(vars: &[(&str, &str)]) -> NodeBuilder {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        NodeBuilder::from_env_with(&move |k| vars.get(k).cloned())
    }

    #[test]
    fn variables_fill_the_config() {
        let config = builder(&[
            ("SHOAL_NAME", "app-1"),
            ("SHOAL_COOKIE", "k"),
            ("SHOAL_LISTEN", "127.0.0.1:7100"),
            ("SHOAL_SEEDS", "127.0.0.1:7000, 127.0.0.1:7001"),
            ("SHOAL_DISCOVERY", "static"),
            ("SHOAL_ROLES", "web"),
        ])
        .build()
        .unwrap();
        assert_eq!(config.name.as_str(), "app-1");
        assert_eq!(config.listen, "127.0.0.1:7100".parse().unwrap());
        assert_eq!(config.seeds, ["127.0.0.1:7000", "127.0.0.1:7001"]);
        assert_eq!(config.local_dir, None);
        assert_eq!(config.roles, ["web"]);
        assert_eq!(config.admin_token, None);
    }

    #[test]
    fn dns_strategies_take_the_listen_port_unless_they_name_one() {
        let config = builder(&[
            ("SHOAL_COOKIE", "k"),
            ("SHOAL_LISTEN", "10.0.0.1:7100"),
            (
                "SHOAL_DISCOVERY",
                "dns:shoal.svc,dns:other.svc:7200,dns-srv:_s._tcp.svc",
            ),
            ("SHOAL_DISCOVERY_INTERVAL_MS", "250"),
        ])
        .build()
        .unwrap();
        let labels: Vec<String> = config.dns.iter().map(DnsQuery::label).collect();
        assert_eq!(
            labels,
            ["dns:shoal.svc:7100", "dns:other.svc:7200", "dns-srv:_s._tcp.svc"]
        );
        assert_eq!(config.discovery_interval, std::time::Duration::from_millis(250));
        assert_eq!(config.local_dir, None);
        let err = builder(&[("SHOAL_COOKIE", "k"), ("SHOAL_DISCOVERY", "dns:shoal.svc")])
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("SHOAL_DISCOVERY") && err.contains("dns:NAME:PORT"),
            "{err}"
        );
        let err = builder(&[("SHOAL_COOKIE", "k"), ("SHOAL_DISCOVERY", "mdns")])
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("dns-srv:NAME"), "{err}");
    }

    #[test]
    fn multicast_takes_the_default_group_or_the_one_given_and_its_ttl() {
        let config = |vars: &[(&str, &str)]| {
            let mut all = vec![("SHOAL_COOKIE", "k")];
            all.extend_from_slice(vars);
            builder(&all).build().map(|c| c.multicast)
        };
        assert_eq!(config(&[]).unwrap(), None);
        let default = config(&[("SHOAL_DISCOVERY", "local,multicast")]).unwrap();
        assert_eq!(default, Some(MulticastDiscovery::default()));
        let given = config(&[
            ("SHOAL_DISCOVERY", "multicast:239.1.2.3:9000"),
            ("SHOAL_MULTICAST_TTL", "3"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (given.group.to_string().as_str(), given.ttl),
            ("239.1.2.3:9000", 3)
        );
        let err = config(&[("SHOAL_DISCOVERY", "multicast"), ("SHOAL_MULTICAST_TTL", "0")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("SHOAL_MULTICAST_TTL") && err.contains("1 to 255"),
            "{err}"
        );
        let err = config(&[("SHOAL_DISCOVERY", "multicast:10.0.0.1:9")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("multicast:GROUP:PORT"), "{err}");
    }

    #[test]
    fn the_admin_token_comes_from_its_variable_trimmed_and_a_blank_one_is_none() {
        let token = |value: &str| {
            let config = builder(&[("SHOAL_COOKIE", "k"), ("SHOAL_ADMIN_TOKEN", value)]);
            config.build().unwrap().admin_token
        };
        assert_eq!(token(" s3cret\n").unwrap().as_str(), "s3cret");
        assert_eq!(format!("{:?}", token("s3cret")), "Some(AdminToken(<redacted>))");
        assert_eq!(token(" "), None);
    }

    #[test]
    fn a_missing_cookie_or_bad_address_names_the_variable() {
        let err = builder(&[]).build().unwrap_err().to_string();
        assert!(err.contains("SHOAL_COOKIE"), "{err}");
        let err = builder(&[("SHOAL_COOKIE", "k"), ("SHOAL_LISTEN", "nope")])
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("SHOAL_LISTEN") && err.contains("nope"), "{err}");
    }

    #[test]
    fn leave_on_stdin_eof_is_off_unless_a_yes_word_turns_it_on() {
        let on = |value: Option<&str>| {
            let mut vars = vec![("SHOAL_COOKIE", "k")];
            vars.extend(value.map(|v| ("SHOAL_LEAVE_ON_STDIN_EOF", v)));
            builder(&vars).build().map(|c| c.leave_on_stdin_eof)
        };
        assert!(!on(None).unwrap());
        for yes in ["1", "true", "Yes", "on"] {
            assert!(on(Some(yes)).unwrap(), "{yes}");
        }
        for no in ["", "0", "false", "OFF", "no"] {
            assert!(!on(Some(no)).unwrap(), "{no:?}");
        }
        let err = on(Some("sometimes")).unwrap_err().to_string();
        assert!(
            err.contains("SHOAL_LEAVE_ON_STDIN_EOF") && err.contains("true or false"),
            "{err}"
        );
    }

    #[test]
    fn ready_min_members_is_a_count_above_zero() {
        let min = |value: &str| {
            builder(&[("SHOAL_COOKIE", "k"), ("SHOAL_READY_MIN_MEMBERS", value)])
                .build()
                .map(|c| c.ready_min_members)
        };
        assert_eq!(
            builder(&[("SHOAL_COOKIE", "k")])
                .build()
                .unwrap()
                .ready_min_members,
            1
        );
        assert_eq!(min(" 3 ").unwrap(), 3);
        for bad in ["0", "-1", "three"] {
            let err = min(bad).unwrap_err().to_string();
            assert!(
                err.contains("SHOAL_READY_MIN_MEMBERS") && err.contains("above 0"),
                "{err}"
            );
        }
    }
}
