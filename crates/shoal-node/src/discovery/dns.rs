//! DNS discovery: a name's A/AAAA records (one port for all, e.g. a Kubernetes headless
//! service) or its SRV records (host and port per node), looked up with hickory-resolver
//! and the system's resolver settings (`/etc/resolv.conf`).
//!
//! hickory-resolver retries a query over TCP when the UDP answer is truncated (its name
//! server pool does so for every server configured for UDP and TCP, which is how it reads
//! `/etc/resolv.conf`), so a name with many records is seen whole.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::RData;

/// One DNS name to poll, as written after `--discovery`: `dns:NAME[:PORT]` or `dns-srv:NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsQuery {
    /// A and AAAA records of `name`; every address is dialled on `port`.
    Host {
        /// The name, e.g. `shoal.default.svc.cluster.local`.
        name: String,
        /// The link port of every node behind the name.
        port: u16,
    },
    /// SRV records of `name`; each gives a host (whose A/AAAA records are looked up) and a port.
    Srv {
        /// The name, e.g. `_shoal._tcp.shoal.default.svc.cluster.local`.
        name: String,
    },
}

/// What to write, for errors.
const FORMS: &str = "write dns:NAME:PORT, dns:NAME (the port of --listen) or dns-srv:NAME";

impl DnsQuery {
    /// Parses `dns:NAME[:PORT]` or `dns-srv:NAME`; `Ok(None)` for any other strategy. A
    /// `dns:NAME` without a port takes `default_port` (the node's listen port), which must
    /// not be 0. The error says what to write.
    pub fn parse(text: &str, default_port: u16) -> Result<Option<Self>, String> {
        let text = text.trim();
        if let Some(name) = text.strip_prefix("dns-srv:") {
            return Ok(Some(Self::Srv {
                name: check_name(name, text)?.to_owned(),
            }));
        }
        let Some(rest) = text.strip_prefix("dns:") else {
            return Ok(None);
        };
        let (name, port) = match rest.rsplit_once(':') {
            Some((name, port)) => match port.parse::<u16>() {
                Ok(port) if port > 0 => (name, port),
                _ => return Err(format!("{text:?} has no valid port (1 to 65535); {FORMS}")),
            },
            None if default_port == 0 => {
                return Err(format!(
                    "{text:?} has no port and the listen port is 0 (any free port); write dns:NAME:PORT or give --listen a fixed port"
                ));
            }
            None => (rest, default_port),
        };
        Ok(Some(Self::Host {
            name: check_name(name, text)?.to_owned(),
            port,
        }))
    }

    /// How it shows in logs and `GET /api/discovery`: `dns:NAME:PORT` or `dns-srv:NAME`.
    pub fn label(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for DnsQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Host { name, port } => write!(f, "dns:{name}:{port}"),
            Self::Srv { name } => write!(f, "dns-srv:{name}"),
        }
    }
}

/// A DNS name: 1 to 253 characters of letters, digits, `-`, `_` and `.`, no empty label
/// inside.
fn check_name<'a>(name: &'a str, text: &str) -> Result<&'a str, String> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.trim_end_matches('.').split('.').any(str::is_empty);
    if valid {
        Ok(name)
    } else {
        Err(format!("{text:?} has no valid DNS name; {FORMS}"))
    }
}

/// Looks names up with the system's resolver settings.
pub(crate) struct DnsResolver {
    resolver: TokioResolver,
}

/// How long one lookup may take, retries included.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

impl DnsResolver {
    /// A resolver from `/etc/resolv.conf` (read once, now). Answers are cached no longer than
    /// their TTL, and at most 1 s, so a change of the records is seen at the next poll.
    pub(crate) fn from_system() -> Result<Self, String> {
        let mut builder = TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's resolver settings (/etc/resolv.conf): {e}"))?;
        let options = builder.options_mut();
        options.positive_max_ttl = Some(Duration::from_secs(1));
        options.negative_max_ttl = Some(Duration::from_secs(1));
        options.timeout = Duration::from_secs(2);
        let resolver = builder
            .build()
            .map_err(|e| format!("cannot start the DNS resolver: {e}"))?;
        Ok(Self { resolver })
    }

    /// The addresses `query` names now, or why the lookup failed.
    pub(crate) async fn lookup(&self, query: &DnsQuery) -> Result<Vec<SocketAddr>, String> {
        let lookup = async {
            match query {
                DnsQuery::Host { name, port } => self.hosts(name, *port).await,
                DnsQuery::Srv { name } => self.srv(name).await,
            }
        };
        tokio::time::timeout(LOOKUP_TIMEOUT, lookup)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {LOOKUP_TIMEOUT:?}")))
    }

    async fn hosts(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let ips = self.resolver.lookup_ip(name).await.map_err(|e| e.to_string())?;
        Ok(ips.iter().map(|ip| SocketAddr::new(ip, port)).collect())
    }

    async fn srv(&self, name: &str) -> Result<Vec<SocketAddr>, String> {
        let lookup = self.resolver.srv_lookup(name).await.map_err(|e| e.to_string())?;
        let mut found = Vec::new();
        let mut errors = Vec::new();
        for record in lookup.answers() {
            let RData::SRV(srv) = &record.data else { continue };
            let target = srv.target.to_utf8();
            match self.hosts(&target, srv.port).await {
                Ok(addrs) => found.extend(addrs),
                Err(e) => errors.push(format!("{target}: {e}")),
            }
        }
        match (found.is_empty(), errors.is_empty()) {
            (true, false) => Err(format!("no SRV target resolves: {}", errors.join("; "))),
            _ => Ok(found),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, port: u16) -> Option<DnsQuery> {
        Some(DnsQuery::Host {
            name: name.into(),
            port,
        })
    }

    #[test]
    fn dns_takes_its_port_or_the_listen_port() {
        assert_eq!(
            DnsQuery::parse("dns:shoal.svc:7000", 0),
            Ok(host("shoal.svc", 7000))
        );
        assert_eq!(
            DnsQuery::parse(" dns:shoal.svc ", 7001),
            Ok(host("shoal.svc", 7001))
        );
        assert_eq!(DnsQuery::parse("local", 7001), Ok(None));
        let srv = DnsQuery::parse("dns-srv:_shoal._tcp.svc", 0).unwrap().unwrap();
        assert_eq!(srv.label(), "dns-srv:_shoal._tcp.svc");
        assert_eq!(host("a.b", 9).unwrap().label(), "dns:a.b:9");
    }

    #[test]
    fn malformed_dns_strategies_say_what_to_write() {
        for bad in [
            "dns:",
            "dns::7000",
            "dns:a..b:7000",
            "dns:a b:1",
            "dns-srv:",
            "dns:a:0",
            "dns:a:99999",
        ] {
            let err = DnsQuery::parse(bad, 7000).unwrap_err();
            assert!(err.contains("write dns:NAME:PORT"), "{bad}: {err}");
        }
        let err = DnsQuery::parse("dns:shoal.svc", 0).unwrap_err();
        assert!(err.contains("give --listen a fixed port"), "{err}");
    }
}
