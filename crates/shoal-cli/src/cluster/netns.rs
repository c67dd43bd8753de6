//! `shoal cluster start --netns`: every node in its own network namespace, with its own IP on a
//! bridge that the command creates (Linux, root, iproute2).
//!
//! ```text
//! ns      shoal-<id>-hub   the bridge br0; one veth port per namespace: host, dns, n1, n2, ...
//! veth    shn<id>          10.A.B.1/24, the host's end of port `host` (`shoal` commands reach
//!                          every node's HTTP API through it)
//! ns      shoal-<id>-dns   10.A.B.2 on eth0 (port `dns`): dnsmasq, with `--discovery dns` only
//! ns      shoal-<id>-nI    10.A.B.(10+I) on eth0 (port `nI`)
//! ```
//! The bridge lives in a namespace of its own, not the host's: traffic between nodes is then
//! bridged where no firewall rule applies. On the host, `br_netfilter` (loaded by Docker, with
//! its FORWARD policy DROP) would pass bridged packets through the host's iptables and drop
//! them.
//! `<id>` is 6 random hex digits, also the name of a marker `/run/shoal-netns/<id>.json`
//! (written before anything is made, removed after everything is gone) that names the state
//! directory and the launching process: [`mod@sweep`] removes the namespaces and links of an id
//! whose marker is missing, or whose launcher is gone and whose state directory no longer
//! records it (a `start` killed half way, then its state directory removed).
//!
//! A partition takes the bridge side of veths down: see [`mod@partition`].

mod partition;
pub(crate) mod sweep;

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use shoal_api::wait_until;

pub(crate) use partition::{heal, partition};
pub(crate) use sweep::{sweep, teardown};

/// The name every node of a `--discovery dns` cluster looks up (one A record per node).
pub(crate) const DNS_NAME: &str = "nodes.shoal.internal";

/// Port of links and gossip on each node's own IP, unless `--base-port` is given.
const LINK_PORT: u16 = 7000;

/// Port of the HTTP API on each node's own IP, unless `--base-port` is given (then P + 1).
const HTTP_PORT: u16 = 8080;

/// The `--netns` options of `shoal cluster start`.
#[derive(clap::Args, Debug, Default)]
pub(crate) struct NetnsArgs {
    /// Linux, root: run each node in its own network namespace with its own IP on a bridge
    /// this command creates (`cluster stop` removes it); `partition` then takes namespace
    /// links down. Needs `ip` (iproute2), and `dnsmasq` with `--discovery dns`.
    #[arg(long)]
    pub(crate) netns: bool,
    /// With `--netns`: how nodes find each other: `seeds` (every node's address as a static
    /// seed), `dns` (a dnsmasq serving one A record per node), `multicast`.
    #[arg(long, value_enum, requires = "netns")]
    pub(crate) discovery: Option<NetDiscovery>,
    /// With `--netns --discovery dns` or `multicast`: the nodes' pause between two lookups of
    /// the name, or two beacons, in ms (the node's default, 5000, if not given).
    #[arg(long, requires = "netns")]
    pub(crate) discovery_interval_ms: Option<u64>,
}

/// How the nodes of a `--netns` cluster find each other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum NetDiscovery {
    /// Every other node's link address as a static seed.
    #[default]
    Seeds,
    /// `dns:nodes.shoal.internal:PORT`, served by a dnsmasq in its own namespace.
    Dns,
    /// Multicast discovery on the bridge (beacons to the default group).
    Multicast,
}

/// A `--netns` cluster's network, as recorded in `cluster.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Netns {
    /// 6 hex digits carried by every name (see the module doc).
    pub(crate) id: String,
    /// The /24's first three octets.
    pub(crate) subnet: [u8; 3],
    pub(crate) discovery: NetDiscovery,
    /// The nodes' `--discovery-interval-ms`, if given.
    #[serde(default)]
    pub(crate) discovery_interval_ms: Option<u64>,
    /// `--base-port`: links on P, HTTP on P + 1, on every node's own IP.
    #[serde(default)]
    pub(crate) base_port: Option<u16>,
    /// Nodes, each with its namespace.
    pub(crate) size: usize,
}

/// Why `--netns` cannot work here, with what to do; `None` when it can. Changes nothing.
pub(crate) fn unavailable(discovery: NetDiscovery) -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("--netns needs Linux network namespaces".into());
    }
    if !nix::unistd::geteuid().is_root() {
        return Some(
            "--netns needs root (network namespaces and a bridge need CAP_SYS_ADMIN and \
             CAP_NET_ADMIN): run it with sudo, or drop --netns"
                .into(),
        );
    }
    let mut tools = vec![("ip", "-V", "iproute2")];
    if discovery == NetDiscovery::Dns {
        tools.push(("dnsmasq", "--version", "dnsmasq"));
    }
    for (tool, arg, package) in tools {
        let runs = Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !runs {
            return Some(format!(
                "--netns needs `{tool}`, which is not installed: install {package} (Debian: apt-get install {package})"
            ));
        }
    }
    // A name a sweep recognises (no marker: stale), should this process die in between.
    let probe = format!("shoal-{:06x}-probe", rand::random::<u32>() & 0xff_ffff);
    if let Err(e) = ip(&["netns", "add", &probe]) {
        return Some(format!(
            "--netns cannot make a network namespace here ({e:#}); run it as root on a host, or in \
             a container with CAP_SYS_ADMIN and CAP_NET_ADMIN"
        ));
    }
    let _ = ip(&["netns", "del", &probe]);
    None
}

impl Netns {
    /// A fresh id and a /24 that no address or route of this host overlaps.
    pub(crate) fn plan(args: &NetnsArgs, base_port: Option<u16>, size: usize) -> anyhow::Result<Self> {
        let used = host_networks();
        for _ in 0..64 {
            let r = rand::random::<u32>();
            let subnet = [10, 150 + (r % 50) as u8, (r >> 8) as u8];
            if used.iter().any(|net| overlaps(*net, subnet)) {
                continue;
            }
            return Ok(Self {
                id: format!("{:06x}", rand::random::<u32>() & 0xff_ffff),
                subnet,
                discovery: args.discovery.unwrap_or_default(),
                discovery_interval_ms: args.discovery_interval_ms,
                base_port,
                size,
            });
        }
        bail!("no free /24 in 10.150.0.0-10.199.255.0 on this host; remove unused addresses or routes")
    }

    /// The address `.host` of the /24.
    pub(crate) fn ip(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(self.subnet[0], self.subnet[1], self.subnet[2], host)
    }

    /// The namespace holding the bridge.
    pub(crate) fn hub(&self) -> String {
        format!("shoal-{}-hub", self.id)
    }

    /// The host's end of the veth to the bridge.
    pub(crate) fn host_link(&self) -> String {
        format!("shn{}", self.id)
    }

    /// Node `i`'s (from 1) namespace.
    pub(crate) fn namespace(&self, i: usize) -> String {
        format!("shoal-{}-n{i}", self.id)
    }

    /// Node `i`'s bridge port (a veth in the hub namespace).
    pub(crate) fn port(i: usize) -> String {
        format!("n{i}")
    }

    fn dns_namespace(&self) -> String {
        format!("shoal-{}-dns", self.id)
    }

    /// Node `i`'s link and HTTP addresses, on its own IP.
    pub(crate) fn node_addrs(&self, i: usize) -> (String, String) {
        let ip = self.ip(10 + i as u8);
        let (link, http) = self
            .base_port
            .map_or((LINK_PORT, HTTP_PORT), |p| (p, p.saturating_add(1)));
        (
            SocketAddr::from((ip, link)).to_string(),
            SocketAddr::from((ip, http)).to_string(),
        )
    }

    /// Makes the bridge, `size` namespaces and, for DNS, dnsmasq. Call [`sweep::mark`] first;
    /// on failure, the caller tears the id down.
    pub(crate) fn create(&self, dir: &Path) -> anyhow::Result<()> {
        let size = self.size;
        let hub = self.hub();
        ip(&["netns", "add", &hub])?;
        ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        // Snooping off: beacons reach every port whether or not IGMP joins were seen.
        ip(&[
            "-n",
            &hub,
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ])?;
        ip(&["-n", &hub, "link", "set", "br0", "up"])?;
        let host = self.host_link();
        ip(&[
            "link", "add", &host, "type", "veth", "peer", "name", "host", "netns", &hub,
        ])?;
        self.attach("host")?;
        ip(&["addr", "add", &format!("{}/24", self.ip(1)), "dev", &host])?;
        ip(&["link", "set", &host, "up"])?;
        if self.discovery == NetDiscovery::Dns {
            self.plug(&self.dns_namespace(), "dns", 2)?;
            self.start_dnsmasq(dir, size)?;
        }
        for i in 1..=size {
            self.plug(&self.namespace(i), &Self::port(i), 10 + i as u8)?;
        }
        Ok(())
    }

    /// Puts port `port` of the hub on the bridge, up.
    fn attach(&self, port: &str) -> anyhow::Result<()> {
        let hub = self.hub();
        ip(&["-n", &hub, "link", "set", port, "master", "br0"])?;
        ip(&["-n", &hub, "link", "set", port, "up"])
    }

    /// A namespace at `.host`, plugged into the bridge as `port` (`eth0` inside).
    fn plug(&self, ns: &str, port: &str, host: u8) -> anyhow::Result<()> {
        ip(&["netns", "add", ns])?;
        ip(&[
            "-n",
            &self.hub(),
            "link",
            "add",
            port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            ns,
        ])?;
        self.attach(port)?;
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{}/24", self.ip(host)),
            "dev",
            "eth0",
        ])?;
        ip(&["-n", ns, "link", "set", "eth0", "up"])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        if self.discovery == NetDiscovery::Multicast {
            // No default route in a namespace: multicast needs its own.
            ip(&["-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0"])?;
        }
        if self.discovery == NetDiscovery::Dns {
            let etc = sweep::resolv_dir(ns);
            std::fs::create_dir_all(&etc)
                .and_then(|()| {
                    std::fs::write(etc.join("resolv.conf"), format!("nameserver {}\n", self.ip(2)))
                })
                .with_context(|| format!("cannot write {}/resolv.conf", etc.display()))?;
        }
        Ok(())
    }

    /// dnsmasq in its namespace, serving [`DNS_NAME`] with one A record per node; it runs in
    /// its own process group (it outlives this command) until the namespace is torn down.
    fn start_dnsmasq(&self, dir: &Path, size: usize) -> anyhow::Result<()> {
        let hosts = dir.join("netns-hosts");
        let text: String = (1..=size)
            .map(|i| format!("{} {DNS_NAME}\n", self.ip(10 + i as u8)))
            .collect();
        std::fs::write(&hosts, text).with_context(|| format!("cannot write {}", hosts.display()))?;
        let log = std::fs::File::create(dir.join("logs").join("dnsmasq.log"))?;
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.dns_namespace(), "dnsmasq"])
            .args([
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--no-negcache",
                "--bind-interfaces",
                "--port=53",
                "--conf-file=/dev/null",
                "--pid-file",
                "--user=root",
                "--log-facility=-",
            ])
            .arg(format!("--listen-address={}", self.ip(2)))
            .arg(format!("--addn-hosts={}", hosts.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .context("cannot start dnsmasq")?;
        // Ready once it answers on port 53 (TCP, which dnsmasq also serves).
        let addr = SocketAddr::from((self.ip(2), 53));
        let up = wait_until(Duration::from_secs(10), || {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(Err(status));
            }
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                .ok()
                .map(|_| Ok(()))
        });
        match up {
            Some(Ok(())) => Ok(()),
            Some(Err(status)) => bail!(
                "dnsmasq exited ({status}); see {}",
                dir.join("logs").join("dnsmasq.log").display()
            ),
            None => bail!("dnsmasq did not answer on {addr} within 10 s"),
        }
    }

    /// `ip netns exec NS BIN`: node `i`'s command, to which the caller adds its arguments.
    pub(crate) fn command(&self, i: usize, bin: &Path) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.namespace(i)]).arg(bin);
        command
    }

    /// Node `i`'s `--discovery` value and its seeds (empty for none).
    pub(crate) fn discovery_flags(&self, i: usize) -> anyhow::Result<(String, String)> {
        match self.discovery {
            NetDiscovery::Seeds => {
                let seeds: Vec<String> = (1..=self.size)
                    .filter(|j| *j != i)
                    .map(|j| self.node_addrs(j).0)
                    .collect();
                Ok(("static".into(), seeds.join(",")))
            }
            NetDiscovery::Dns => {
                let port = self.base_port.unwrap_or(LINK_PORT);
                Ok((format!("dns:{DNS_NAME}:{port}"), String::new()))
            }
            NetDiscovery::Multicast => Ok(("multicast".into(), String::new())),
        }
    }

    /// Sets node `i`'s bridge port down or up.
    pub(crate) fn set_link(&self, i: usize, up: bool) -> anyhow::Result<()> {
        let state = if up { "up" } else { "down" };
        ip(&["-n", &self.hub(), "link", "set", &Self::port(i), state])
    }
}

/// Waits until `pid` runs `bin` (an `ip netns exec` has exec'd it) or is gone, so that a
/// check by `/proc/PID/exe` right after a spawn sees the node, not `ip`.
pub(crate) fn await_exec(pid: u32, bin: &Path) {
    let _ = wait_until(Duration::from_secs(5), || {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        (exe.is_none() || super::state::is_our_process(pid, bin)).then_some(())
    });
}

/// Runs `ip ARGS`; the error carries its stderr.
pub(crate) fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("cannot run `ip` (install iproute2)")?;
    if !out.status.success() {
        bail!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// `ip ARGS`'s stdout, empty if it fails.
pub(crate) fn ip_output(args: &[&str]) -> String {
    Command::new("ip")
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Every IPv4 network of this host's addresses and routes, as (address, prefix length).
fn host_networks() -> Vec<(Ipv4Addr, u8)> {
    let text =
        ip_output(&["-4", "-o", "addr", "show"]) + &ip_output(&["-4", "route", "show", "table", "all"]);
    text.split_whitespace()
        .filter_map(|word| {
            let (addr, len) = word.split_once('/').unwrap_or((word, "32"));
            Some((addr.parse().ok()?, len.parse().ok()?))
        })
        .collect()
}

/// Whether `net` overlaps the /24 `subnet`.
fn overlaps((addr, len): (Ipv4Addr, u8), subnet: [u8; 3]) -> bool {
    let len = u32::from(len.min(24));
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let ours = u32::from(Ipv4Addr::new(subnet[0], subnet[1], subnet[2], 0));
    (u32::from(addr) & mask) == (ours & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subnet_overlaps_a_wider_route_but_not_a_neighbour() {
        let sub = [10, 160, 7];
        assert!(overlaps((Ipv4Addr::new(10, 0, 0, 0), 8), sub));
        assert!(overlaps((Ipv4Addr::new(10, 160, 7, 9), 32), sub));
        assert!(!overlaps((Ipv4Addr::new(10, 160, 8, 0), 24), sub));
        assert!(overlaps((Ipv4Addr::new(0, 0, 0, 0), 0), sub));
    }
}
