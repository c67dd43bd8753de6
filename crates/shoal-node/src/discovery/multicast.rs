//! Multicast discovery: every node sends a signed beacon (its name and link address) to an
//! IPv4 multicast group at start and every discovery interval (±20%), and proposes the link
//! address of every beacon it hears that verifies under its cookie. [`Beacons`] holds what
//! it knows; [`MulticastTask`] does the I/O.
//!
//! Two sockets: one bound to the group's address and port (SO_REUSEADDR and SO_REUSEPORT,
//! so several nodes of one host share the port and each gets every datagram) that joins the
//! group on the interface of the node's advertised IPv4 address; one bound to that address
//! that sends, with IP_MULTICAST_IF on it, the configured TTL (1 by default: the beacon does
//! not leave the link) and loopback on (nodes of the same host hear each other).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use shoal_proto::{Cookie, Member};

use super::beacons::{Beacons, Heard};
use crate::throttle::Throttle;

/// The default group: in 239.255.0.0/16, the IPv4 site-local scope (RFC 2365).
pub const DEFAULT_GROUP: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(239, 255, 77, 77), 7710);
/// The default time to live of beacons: 1, the local link only.
pub const DEFAULT_TTL: u32 = 1;

/// What to write, for errors.
const FORMS: &str = "write multicast or multicast:GROUP:PORT with GROUP an IPv4 multicast address (224.0.0.0/4), e.g. multicast:239.255.77.77:7710";

/// Multicast discovery's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MulticastDiscovery {
    /// Where beacons go (default [`DEFAULT_GROUP`]).
    pub group: SocketAddrV4,
    /// The beacons' IP time to live, 1 to 255 (default [`DEFAULT_TTL`]: the local link).
    pub ttl: u32,
}

impl Default for MulticastDiscovery {
    fn default() -> Self {
        Self {
            group: DEFAULT_GROUP,
            ttl: DEFAULT_TTL,
        }
    }
}

impl MulticastDiscovery {
    /// Parses `multicast` (the default group) or `multicast:GROUP:PORT`; `Ok(None)` for any
    /// other strategy. The error says what to write.
    pub fn parse(text: &str) -> Result<Option<SocketAddrV4>, String> {
        let text = text.trim();
        if text == "multicast" {
            return Ok(Some(DEFAULT_GROUP));
        }
        let Some(rest) = text.strip_prefix("multicast:") else {
            return Ok(None);
        };
        match rest.parse::<SocketAddrV4>() {
            Ok(group) if group.ip().is_multicast() && group.port() != 0 => Ok(Some(group)),
            _ => Err(format!("{text:?} is not a multicast group and port; {FORMS}")),
        }
    }

    /// Checks a TTL given as text: 1 to 255.
    pub fn parse_ttl(text: &str) -> Result<u32, String> {
        match text.trim().parse::<u32>() {
            Ok(ttl @ 1..=255) => Ok(ttl),
            _ => Err("use a whole number from 1 to 255 (1: the local link only)".to_owned()),
        }
    }

    /// How it shows in `GET /api/discovery`: `multicast:GROUP:PORT`.
    pub fn label(&self) -> String {
        format!("multicast:{}", self.group)
    }
}

/// Sends this node's beacons and reads the group's, into [`Beacons`].
pub(crate) struct MulticastTask {
    config: MulticastDiscovery,
    /// The advertised IPv4 address: its interface sends and joins.
    interface: Ipv4Addr,
    /// What it knows, shared with the discovery rounds, the view and the metrics.
    pub(crate) beacons: Arc<Mutex<Beacons>>,
    interval: Duration,
    /// Woken when a beacon announces an address not held before, so that the discovery
    /// round proposes it at once.
    wake: Arc<Notify>,
}

/// The largest datagram read whole: anything longer than a beacon is refused, unread.
const RECV_BUF: usize = 512;
/// How often a warning about the group is logged at most.
const WARNING_EVERY: Duration = Duration::from_secs(10);

impl MulticastTask {
    /// The task of a node whose member record is `local`, holding `cookie`, beaconing every
    /// `interval` (±20%); its state is [`Self::beacons`]. An error for an IPv6 link address.
    pub(crate) fn new(
        config: MulticastDiscovery,
        local: &Member,
        cookie: Cookie,
        interval: Duration,
        wake: Arc<Notify>,
    ) -> Result<Self, String> {
        let interface = Self::interface_of(local.listen)?;
        // An address is proposed for three intervals (at their longest) after its last
        // beacon: two lost beacons in a row do not drop it.
        let keep = interval.min(Duration::from_secs(86_400)) * 36 / 10;
        let beacons = Beacons::new(
            local.id.name.clone(),
            local.listen,
            cookie,
            (config.group, interface, config.ttl),
            u64::try_from(keep.as_millis()).unwrap_or(u64::MAX),
        );
        Ok(Self {
            config,
            interface,
            beacons: Arc::new(Mutex::new(beacons)),
            interval,
            wake,
        })
    }

    /// The interface for `link`, the node's advertised address; an error for IPv6.
    pub(crate) fn interface_of(link: SocketAddr) -> Result<Ipv4Addr, String> {
        match link.ip() {
            IpAddr::V4(ip) => Ok(ip),
            IpAddr::V6(_) => Err(format!(
                "multicast discovery needs an IPv4 link address, not {link}: give --listen or --advertise an IPv4 address"
            )),
        }
    }

    /// Runs until `cancel`: opens the sockets (retrying every interval while that fails),
    /// then sends a beacon at once and every interval (±20%) and reads the group's datagrams.
    pub(crate) async fn run(self, cancel: CancellationToken) {
        let warnings = Throttle::new(WARNING_EVERY);
        let label = self.config.label();
        let (recv, send) = loop {
            match open(&self.config, self.interface) {
                Ok(sockets) => break sockets,
                Err(e) => {
                    if let Some(held) = warnings.allow() {
                        tracing::warn!(strategy = %label, "multicast discovery cannot open its sockets: {e}; retrying ({held} similar warnings held back)");
                    }
                    self.with(|b| b.handle_sent(Err(e)));
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep(self.interval) => {}
                    }
                }
            }
        };
        let group = SocketAddr::V4(self.config.group);
        let mut buf = [0u8; RECV_BUF];
        let mut next = Instant::now();
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep_until(next.into()) => {
                    let beacon = self.with(Beacons::poll_beacon).unwrap_or_default();
                    let sent = send.send_to(&beacon, group).await.map(drop).map_err(|e| format!("cannot send to {group}: {e}"));
                    if let Err(e) = &sent
                        && let Some(held) = warnings.allow()
                    {
                        tracing::warn!(strategy = %label, "{e} ({held} similar warnings held back)");
                    }
                    self.with(|b| b.handle_sent(sent));
                    next = Instant::now() + super::jitter::jittered(self.interval, rand::random::<u64>());
                }
                read = recv.recv_from(&mut buf) => match read {
                    Ok((len, from)) => self.handle(&buf[..len], from, &warnings),
                    Err(e) => {
                        if let Some(held) = warnings.allow() {
                            tracing::warn!(strategy = %label, "reading the multicast group failed: {e} ({held} similar warnings held back)");
                        }
                    }
                },
            }
        }
    }

    fn handle(&self, datagram: &[u8], from: SocketAddr, warnings: &Throttle) {
        let heard = self.with(|b| b.handle_datagram(crate::clock::now_us() / 1000, from, datagram));
        match heard {
            Some(Heard::New(_)) => self.wake.notify_one(),
            Some(Heard::Ignored(e)) => {
                if let Some(held) = warnings.allow() {
                    tracing::warn!(%from, "ignored a multicast datagram that is not a beacon of this cluster: {e} ({held} similar warnings held back)");
                }
            }
            Some(Heard::Again(_) | Heard::Own) | None => {}
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Beacons) -> T) -> Option<T> {
        self.beacons.lock().ok().map(|mut b| f(&mut b))
    }
}

/// The receiving and the sending socket; see the module doc.
fn open(config: &MulticastDiscovery, interface: Ipv4Addr) -> Result<(UdpSocket, UdpSocket), String> {
    let group = config.group;
    let recv = (|| {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&SockAddr::from(group))?;
        socket.join_multicast_v4(group.ip(), &interface)?;
        UdpSocket::from_std(socket.into())
    })()
    .map_err(|e| format!("cannot join {group} on {interface}: {e}"))?;
    let send = (|| {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_nonblocking(true)?;
        socket.bind(&SockAddr::from(SocketAddrV4::new(interface, 0)))?;
        socket.set_multicast_if_v4(&interface)?;
        socket.set_multicast_ttl_v4(config.ttl)?;
        socket.set_multicast_loop_v4(true)?;
        UdpSocket::from_std(socket.into())
    })()
    .map_err(|e| format!("cannot send to {group} from {interface}: {e}"))?;
    Ok((recv, send))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multicast_takes_the_default_group_or_the_one_given() {
        assert_eq!(MulticastDiscovery::parse("multicast"), Ok(Some(DEFAULT_GROUP)));
        let group = SocketAddrV4::new(Ipv4Addr::new(239, 1, 2, 3), 9000);
        assert_eq!(
            MulticastDiscovery::parse(" multicast:239.1.2.3:9000 "),
            Ok(Some(group))
        );
        assert_eq!(MulticastDiscovery::parse("local"), Ok(None));
        for bad in [
            "multicast:",
            "multicast:10.0.0.1:7000",
            "multicast:239.1.2.3",
            "multicast:239.1.2.3:0",
            "multicast:[ff02::1]:7",
        ] {
            let err = MulticastDiscovery::parse(bad).expect_err(bad);
            assert!(
                err.contains("write multicast or multicast:GROUP:PORT"),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            MulticastDiscovery::default().label(),
            "multicast:239.255.77.77:7710"
        );
        assert_eq!(MulticastDiscovery::parse_ttl("4"), Ok(4));
        assert!(MulticastDiscovery::parse_ttl("0").is_err() && MulticastDiscovery::parse_ttl("256").is_err());
    }

    #[test]
    fn an_ipv6_link_address_cannot_multicast() {
        assert_eq!(
            MulticastTask::interface_of("10.0.0.1:7000".parse().expect("an address")),
            Ok(Ipv4Addr::new(10, 0, 0, 1))
        );
        let err = MulticastTask::interface_of("[::1]:7000".parse().expect("an address")).expect_err("IPv6");
        assert!(err.contains("IPv4"), "{err}");
    }

    /// Two tasks on loopback, one group of their own: each proposes the other, and a
    /// stranger's beacons are counted as ignored. Skips where loopback has no multicast.
    #[tokio::test]
    async fn two_tasks_on_loopback_hear_each_other_and_count_a_stranger() {
        let group = SocketAddrV4::new(
            Ipv4Addr::new(239, 255, 77, 78),
            40_000 + (std::process::id() % 20_000) as u16,
        );
        let config = MulticastDiscovery { group, ttl: 1 };
        let lo = Ipv4Addr::LOCALHOST;
        let cancel = CancellationToken::new();
        let mut states = Vec::new();
        for (name, port, cookie) in [("a", 7001, "k"), ("b", 7002, "k"), ("x", 7003, "other")] {
            let beacons = Arc::new(Mutex::new(Beacons::new(
                shoal_proto::NodeName::new(name).expect("a valid name"),
                SocketAddr::from((lo, port)),
                shoal_proto::Cookie::new(cookie).expect("a valid cookie"),
                (group, lo, 1),
                60_000,
            )));
            let task = MulticastTask {
                config,
                interface: lo,
                beacons: beacons.clone(),
                interval: Duration::from_millis(50),
                wake: Arc::new(Notify::new()),
            };
            tokio::spawn(task.run(cancel.clone()));
            states.push(beacons);
        }
        let found = |i: usize| {
            states[i]
                .lock()
                .expect("lock")
                .found(crate::clock::now_us() / 1000)
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let ignored = states[0].lock().expect("lock").view().ignored;
            let done = found(0) == Ok(vec![SocketAddr::from((lo, 7002))])
                && found(1) == Ok(vec![SocketAddr::from((lo, 7001))])
                && ignored > 0;
            if done {
                break;
            }
            if let Err(e) = found(0) {
                eprintln!("SKIPPED: no multicast on loopback here: {e}");
                cancel.cancel();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{:?} {:?}",
                found(0),
                states[0].lock().expect("lock").view()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let last = states[0]
            .lock()
            .expect("lock")
            .view()
            .last_ignored
            .expect("an ignored beacon");
        assert_eq!(last.reason, "bad_tag");
        assert_eq!(
            states[2]
                .lock()
                .expect("lock")
                .found(crate::clock::now_us() / 1000),
            Ok(vec![])
        );
        cancel.cancel();
    }
}
