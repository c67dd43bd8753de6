//! Validation of single settings. Each error is one line: `invalid <where> "<value>": <fix>`,
//! where `<where>` is the flag (`--listen`) or the key and file (`listen in ./shoal.toml`).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail};
use shoal_node::discovery::{DnsQuery, MulticastDiscovery};
use shoal_proto::NodeName;

/// A setting's value and where it came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sourced<T> {
    /// The value as given.
    pub(crate) value: T,
    /// `--flag` (which also covers its `SHOAL_*` variable) or `key in <file>`.
    pub(crate) label: String,
}

/// Picks a flag's value over the same key of shoal.toml (found at `file`), labelling it.
/// The key is the flag's name in snake_case.
pub(crate) fn pick<T>(
    flag: &str,
    from_args: Option<T>,
    from_file: Option<T>,
    file: Option<&Path>,
) -> Option<Sourced<T>> {
    match (from_args, from_file) {
        (Some(value), _) => Some(Sourced {
            value,
            label: flag.to_string(),
        }),
        (None, Some(value)) => Some(Sourced {
            value,
            label: file_label(flag, file),
        }),
        (None, None) => None,
    }
}

/// `key in <file>` for a flag `--some-key`.
pub(crate) fn file_label(flag: &str, file: Option<&Path>) -> String {
    let key = flag.trim_start_matches('-').replace('-', "_");
    match file {
        Some(file) => format!("{key} in {}", file.display()),
        None => key,
    }
}

/// A node name.
pub(crate) fn name(label: &str, value: &str) -> anyhow::Result<NodeName> {
    NodeName::new(value).map_err(|e| anyhow!("invalid {label} {value:?}: {}", e.fix))
}

/// An `IP:PORT` to bind.
pub(crate) fn bind_addr(label: &str, value: &str) -> anyhow::Result<SocketAddr> {
    value.trim().parse().map_err(|_| {
        anyhow!("invalid {label} {value:?}: use IP:PORT with a port from 0 to 65535, e.g. 127.0.0.1:0")
    })
}

/// `host:port` seeds (host names are resolved later); empty entries are skipped.
pub(crate) fn seeds(label: &str, values: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for seed in values.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let valid = seed.rsplit_once(':').is_some_and(|(host, port)| {
            let bracketed = host.starts_with('[') && host.ends_with(']');
            let host_ok = !host.is_empty()
                && !host.contains(char::is_whitespace)
                && (bracketed || !host.contains(['[', ']', ':']));
            host_ok && port.parse::<u16>().is_ok_and(|p| p != 0)
        });
        if !valid {
            bail!(
                "invalid {label} {seed:?}: use host:port with a port from 1 to 65535, \
                 e.g. 10.0.0.2:7000, db1.lan:7000 or [::1]:7000"
            );
        }
        if !out.iter().any(|s| s == seed) {
            out.push(seed.to_string());
        }
    }
    Ok(out)
}

/// Which discovery kinds are on: `(local, static)`.
pub(crate) fn discovery(label: &str, values: &[String], listen_port: u16) -> anyhow::Result<Discovery> {
    let fix = "use a comma list of static, local, dns:NAME[:PORT], dns-srv:NAME and multicast[:GROUP:PORT], or none alone";
    let mut found = Discovery::default();
    let mut none = false;
    for kind in values.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        match kind {
            "local" => found.local = true,
            "static" => found.fixed = true,
            "none" => none = true,
            other if other.starts_with("multicast") => match MulticastDiscovery::parse(other) {
                Ok(Some(group)) => found.multicast = Some(group),
                Ok(None) => bail!("invalid {label} {other:?}: {fix}"),
                Err(why) => bail!("invalid {label} {other:?}: {why}"),
            },
            other => match DnsQuery::parse(other, listen_port) {
                Ok(Some(query)) => found.dns.push(query),
                Ok(None) => bail!("invalid {label} {other:?}: {fix}"),
                Err(why) => bail!("invalid {label} {other:?}: {why}"),
            },
        }
    }
    if none == (found.local || found.fixed || !found.dns.is_empty() || found.multicast.is_some()) {
        bail!("invalid {label} {:?}: {fix}", values.join(","));
    }
    Ok(found)
}

/// The discovery strategies of `--discovery`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Discovery {
    /// `local`.
    pub(crate) local: bool,
    /// `static`.
    pub(crate) fixed: bool,
    /// `dns:` and `dns-srv:` names, in the order given.
    pub(crate) dns: Vec<DnsQuery>,
    /// `multicast[:GROUP:PORT]`: the group.
    pub(crate) multicast: Option<std::net::SocketAddrV4>,
}

/// A multicast TTL, 1 to 255.
pub(crate) fn ttl(label: &str, value: &str) -> anyhow::Result<u32> {
    MulticastDiscovery::parse_ttl(value).map_err(|fix| anyhow!("invalid {label} {value:?}: {fix}"))
}

/// Roles: the same characters as node names; empty entries and repeats are dropped.
pub(crate) fn roles(label: &str, values: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for role in values.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        NodeName::new(role).map_err(|e| anyhow!("invalid {label} {role:?}: {}", e.fix))?;
        if !out.iter().any(|r| r == role) {
            out.push(role.to_string());
        }
    }
    Ok(out)
}

/// A duration in whole milliseconds, above zero.
pub(crate) fn millis(label: &str, value: &str) -> anyhow::Result<Duration> {
    match value.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => bail!("invalid {label} {value:?}: use a whole number of milliseconds above 0, e.g. 500"),
    }
}

/// A count of members, at least 1.
pub(crate) fn members(label: &str, value: &str) -> anyhow::Result<usize> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("invalid {label} {value:?}: use a whole number of members above 0, e.g. 3"),
    }
}

/// A tracing filter such as `info,shoal_node=debug`.
pub(crate) fn log_filter(label: &str, value: &str) -> anyhow::Result<String> {
    match tracing_subscriber::EnvFilter::try_new(value) {
        Ok(_) => Ok(value.to_string()),
        Err(e) => bail!(
            "invalid {label} {value:?}: {e}; use a tracing filter such as info or info,shoal_node=debug"
        ),
    }
}

/// A non-empty secret token; the error never shows it.
pub(crate) fn token(label: &str, value: &str) -> anyhow::Result<String> {
    let value = value.trim();
    if value.is_empty() || value.contains(char::is_whitespace) {
        bail!("invalid {label} (hidden): use a non-empty token without spaces");
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn seeds_need_a_host_and_a_port_from_1_to_65535() {
        let ok = seeds(
            "--seeds",
            &list(&["db1.lan:7000", " [::1]:1 ", "", "db1.lan:7000"]),
        )
        .unwrap();
        assert_eq!(ok, list(&["db1.lan:7000", "[::1]:1"]));
        for bad in ["db1", ":7000", "h:0", "h:70000", "::1", "h:x", "a b:1"] {
            let err = seeds("--seeds", &list(&[bad])).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("invalid --seeds {bad:?}: use host:port")),
                "{err}"
            );
        }
    }

    #[test]
    fn discovery_is_static_and_local_or_none_alone() {
        let kinds =
            |values: &[&str]| discovery("d", &list(values), 7000).map(|d| (d.local, d.fixed, d.dns.len()));
        assert_eq!(kinds(&["local", "static"]).unwrap(), (true, true, 0));
        assert_eq!(kinds(&["static"]).unwrap(), (false, true, 0));
        assert_eq!(kinds(&["none"]).unwrap(), (false, false, 0));
        assert_eq!(
            kinds(&["dns:a.svc", "dns-srv:_s._tcp.a.svc", "local"]).unwrap(),
            (true, false, 2)
        );
        assert!(kinds(&["none", "local"]).is_err());
        assert!(kinds(&["none", "dns:a:1"]).is_err());
        assert!(kinds(&["none", "multicast"]).is_err());
        let group =
            |values: &[&str]| discovery("d", &list(values), 0).map(|d| d.multicast.map(|g| g.to_string()));
        assert_eq!(
            group(&["local", "multicast"]).unwrap().as_deref(),
            Some("239.255.77.77:7710")
        );
        assert_eq!(
            group(&["multicast:239.0.0.9:99"]).unwrap().as_deref(),
            Some("239.0.0.9:99")
        );
        let err = group(&["multicast:1.2.3.4:5"]).unwrap_err().to_string();
        assert!(err.starts_with("invalid d \"multicast:1.2.3.4:5\": "), "{err}");
        assert!(ttl("--multicast-ttl", "0").is_err());
        assert_eq!(ttl("--multicast-ttl", "2").unwrap(), 2);
        assert!(kinds(&[""]).is_err());
        let err = discovery("--discovery", &list(&["mdns"]), 0)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid --discovery \"mdns\": use a comma list of static, local, dns:NAME[:PORT], dns-srv:NAME and multicast[:GROUP:PORT], or none alone"
        );
        let err = discovery("--discovery", &list(&["dns:a.svc"]), 0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("write dns:NAME:PORT or give --listen a fixed port"),
            "{err}"
        );
        let err = discovery("--discovery", &list(&["dns:a..b:7"]), 0)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("invalid --discovery \"dns:a..b:7\": "), "{err}");
    }

    #[test]
    fn roles_use_the_name_charset_and_drop_repeats() {
        assert_eq!(
            roles("r", &list(&["web", "db", "web"])).unwrap(),
            list(&["web", "db"])
        );
        let err = roles("--roles", &list(&["w b"])).unwrap_err().to_string();
        assert!(err.starts_with("invalid --roles \"w b\": use 1 to 64"), "{err}");
    }

    #[test]
    fn millis_and_tokens_and_filters_are_checked() {
        assert_eq!(millis("m", "250").unwrap(), Duration::from_millis(250));
        assert!(millis("m", "0").is_err() && millis("m", "1.5").is_err());
        assert!(
            token("--admin-token", " ")
                .unwrap_err()
                .to_string()
                .contains("(hidden)")
        );
        assert!(log_filter("--log", "info,shoal_node=debug").is_ok());
        assert!(log_filter("--log", "shoal_node=loud").is_err());
    }

    #[test]
    fn file_label_turns_the_flag_into_its_key() {
        let file = Path::new("./shoal.toml");
        assert_eq!(
            file_label("--link-down-ms", Some(file)),
            "link_down_ms in ./shoal.toml"
        );
        let picked = pick("--log", None, Some(1), Some(file)).unwrap();
        assert_eq!(
            picked,
            Sourced {
                value: 1,
                label: "log in ./shoal.toml".into()
            }
        );
    }
}
