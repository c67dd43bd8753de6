//! The addresses a node tells its peers to dial: its link and gossip address and its HTTP
//! address, from what it bound and what it was told to advertise.

use std::net::{IpAddr, SocketAddr};

use shoal_proto::ConfigError;

/// The link and gossip address peers dial: `advertise` if given (its port 0 meaning the bound
/// port), else `bound`; a bound wildcard IP (`0.0.0.0`, `::`) becomes this host's first
/// address that is not loopback. Fails when that leaves nothing a peer can dial.
pub(crate) fn link_addr(advertise: Option<SocketAddr>, bound: SocketAddr) -> Result<SocketAddr, ConfigError> {
    if let Some(addr) = advertise {
        if addr.ip().is_unspecified() {
            return Err(ConfigError::invalid(
                "advertise",
                &addr.to_string(),
                "advertise an address peers can dial, e.g. this host's own IP and the --listen port",
            ));
        }
        let port = if addr.port() == 0 {
            bound.port()
        } else {
            addr.port()
        };
        return Ok(SocketAddr::new(addr.ip(), port));
    }
    if !bound.ip().is_unspecified() {
        return Ok(bound);
    }
    let ip = host_ip(bound.is_ipv6()).ok_or_else(|| {
        ConfigError::invalid(
            "listen",
            &bound.to_string(),
            "this host has no address but loopback to advertise: give --advertise IP:PORT",
        )
    })?;
    Ok(SocketAddr::new(ip, bound.port()))
}

/// The HTTP address peers and dashboards use: `http` with a wildcard IP replaced by the IP
/// of the link address (the port stays).
pub(crate) fn http_addr(http: Option<SocketAddr>, link: SocketAddr) -> Option<SocketAddr> {
    http.map(|h| {
        if h.ip().is_unspecified() {
            SocketAddr::new(link.ip(), h.port())
        } else {
            h
        }
    })
}

/// This host's first interface address of the family that is not loopback (nor IPv6
/// link-local, which needs a scope to dial).
fn host_ip(v6: bool) -> Option<IpAddr> {
    let addrs = nix::ifaddrs::getifaddrs().ok()?;
    addrs
        .filter_map(|a| a.address)
        .filter_map(|a| match (a.as_sockaddr_in(), a.as_sockaddr_in6()) {
            (Some(v4), _) if !v6 => Some(IpAddr::V4(v4.ip())),
            (_, Some(s6)) if v6 => Some(IpAddr::V6(s6.ip())),
            _ => None,
        })
        .find(|ip| match ip {
            IpAddr::V4(ip) => !ip.is_loopback(),
            IpAddr::V6(ip) => !ip.is_loopback() && (ip.segments()[0] & 0xffc0) != 0xfe80,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| unreachable!("valid literal"))
    }

    #[test]
    fn an_advertised_address_wins_and_its_port_0_is_the_bound_port() {
        let bound = addr("0.0.0.0:7100");
        assert_eq!(
            link_addr(Some(addr("10.0.0.5:7100")), bound),
            Ok(addr("10.0.0.5:7100"))
        );
        assert_eq!(
            link_addr(Some(addr("10.0.0.5:0")), bound),
            Ok(addr("10.0.0.5:7100"))
        );
        assert_eq!(
            link_addr(Some(addr("10.0.0.5:9000")), bound),
            Ok(addr("10.0.0.5:9000")),
            "NAT"
        );
        let wildcard = link_addr(Some(addr("0.0.0.0:0")), bound).unwrap_err().to_string();
        assert!(wildcard.contains("peers can dial"), "{wildcard}");
    }

    #[test]
    fn a_bound_ip_is_advertised_and_a_wildcard_becomes_a_host_address() {
        assert_eq!(
            link_addr(None, addr("127.0.0.1:7100")),
            Ok(addr("127.0.0.1:7100"))
        );
        match link_addr(None, addr("0.0.0.0:7100")) {
            Ok(a) => assert!(
                !a.ip().is_loopback() && !a.ip().is_unspecified() && a.port() == 7100,
                "{a}"
            ),
            Err(e) => assert!(e.to_string().contains("--advertise"), "{e}"),
        }
    }

    #[test]
    fn a_wildcard_http_address_takes_the_link_ip() {
        let link = addr("10.0.0.5:7100");
        assert_eq!(
            http_addr(Some(addr("0.0.0.0:8080")), link),
            Some(addr("10.0.0.5:8080"))
        );
        assert_eq!(
            http_addr(Some(addr("127.0.0.1:8080")), link),
            Some(addr("127.0.0.1:8080"))
        );
        assert_eq!(http_addr(None, link), None);
    }
}
