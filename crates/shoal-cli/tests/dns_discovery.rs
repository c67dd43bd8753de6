//! DNS discovery over a real DNS server (dnsmasq) and real `shoal node` processes, each in its
//! own network namespace with its own IP: a cluster forms from a name alone, follows the name
//! as it grows, and keeps live members when it shrinks; SRV records give each node its port.
//!
//! Needs root, `ip` (iproute2) and `dnsmasq`; elsewhere it prints why and passes.

#[path = "dns_discovery/netns.rs"]
mod netns;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shoal_api::client;
use shoal_api::views::{CandidateOutcome, DiscoveryView, MemberView};

use netns::{Net, NodeSpec};

const NAME: &str = "shoal.test";
const SRV: &str = "_shoal._tcp.srv.test";
/// A name with 150 A records.
const MANY: &str = "many.test";
const LINK_PORT: u16 = 7000;
const HTTP_PORT: u16 = 8080;

/// The hosts file dnsmasq serves (re-read on SIGHUP) and its config (SRV records).
struct Dns {
    hosts: PathBuf,
    pid: u32,
}

impl Dns {
    /// Serves `NAME` with the addresses of `hosts` (last octets) and reloads dnsmasq.
    fn set(&self, net: &Net, hosts: &[u8], extra: &str) {
        let mut text: String = hosts.iter().map(|h| format!("{} {NAME}\n", net.ip(*h))).collect();
        text.push_str(extra);
        std::fs::write(&self.hosts, text).expect("write hosts file");
        let _ = std::process::Command::new("kill")
            .args(["-HUP", &self.pid.to_string()])
            .status();
    }
}

fn node_http(net: &Net, host: u8, http_port: u16) -> SocketAddr {
    SocketAddr::from((net.ip(host), http_port))
}

fn members(addr: SocketAddr) -> Option<BTreeSet<String>> {
    let list: Vec<MemberView> = client::get(addr, "/api/members", Duration::from_secs(1)).ok()?;
    Some(list.into_iter().map(|m| m.name).collect())
}

fn discovery(addr: SocketAddr) -> Option<DiscoveryView> {
    client::get(addr, "/api/discovery", Duration::from_secs(1)).ok()
}

/// Polls `check` every 100 ms until it holds; fails with `what` after `within`.
fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn names(prefix: &str, range: std::ops::RangeInclusive<u8>) -> BTreeSet<String> {
    range.map(|i| format!("{prefix}{i}")).collect()
}

/// Starts node `name` in `ns` at `.host`, on `port`, with `discovery`.
fn start_node(
    net: &mut Net,
    ns: &str,
    name: &str,
    host: u8,
    ports: (u16, u16),
    discovery: &str,
    cookie: &str,
) {
    let extra = ["--discovery", discovery, "--discovery-interval-ms", "300"];
    net.shoal_node(
        ns,
        &NodeSpec {
            name,
            host,
            ports,
            cookie,
            extra: &extra,
        },
    );
}

#[test]
fn a_cluster_forms_grows_and_keeps_members_from_dns_records() {
    if let Some(why) = netns::unavailable(&["dnsmasq"])
        && shoal_api::env::skip_without_tool(&format!("dns_discovery needs network namespaces: {why}"))
    {
        return;
    }
    let started = Instant::now();
    let mut net = Net::new();
    let dns_ip = net.ip(2);
    let dns_ns = net.namespace("dns", 2, dns_ip);
    let dir = std::env::temp_dir().join(format!("shoal-dns-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let _dir = RemoveDir(dir.clone());
    // SRV: three nodes of another cluster, each on its own port, behind hosts m1..m3.test.
    let mut srv_hosts: String = (1..=3u8)
        .map(|i| format!("{} m{i}.test\n", net.ip(10 + i)))
        .collect();
    // A name with more records than a UDP answer holds (even with EDNS's 1232 bytes): the
    // resolver must retry over TCP to see them all.
    srv_hosts.extend((100..=249u8).map(|h| format!("{} {MANY}\n", net.ip(h))));
    let srv_records: String = (1..=3u16)
        .map(|i| format!("srv-host={SRV},m{i}.test,{}\n", 7100 + i))
        .collect();
    let conf = dir.join("dnsmasq.conf");
    std::fs::write(&conf, srv_records).expect("write dnsmasq.conf");
    let hosts = dir.join("hosts");
    // Written before dnsmasq starts: a SIGHUP before it installed its handler would end it.
    let first: String = (11..=14u8).map(|h| format!("{} {NAME}\n", net.ip(h))).collect();
    std::fs::write(&hosts, first + &srv_hosts).expect("write hosts file");
    let args = dnsmasq_args(&conf, &hosts, dns_ip);
    let pid = net.spawn(&dns_ns, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let dns = Dns { hosts, pid };

    let mut spaces = Vec::new();
    for i in 1..=6u8 {
        spaces.push(net.namespace(&format!("n{i}"), 10 + i, dns_ip));
    }
    // 1. Four nodes find each other from the name alone.
    for i in 1..=4u8 {
        let ns = spaces[usize::from(i - 1)].clone();
        start_node(
            &mut net,
            &ns,
            &format!("n{i}"),
            10 + i,
            (LINK_PORT, HTTP_PORT),
            &format!("dns:{NAME}"),
            "c1",
        );
    }
    // The SRV cluster: same namespaces, other ports and cookie; found only through SRV.
    for i in 1..=3u8 {
        let ns = spaces[usize::from(i - 1)].clone();
        let ports = (7100 + u16::from(i), 8100 + u16::from(i));
        start_node(
            &mut net,
            &ns,
            &format!("m{i}"),
            10 + i,
            ports,
            &format!("dns-srv:{SRV}"),
            "c2",
        );
    }
    let sees = |net: &Net, hosts: std::ops::RangeInclusive<u8>, want: &BTreeSet<String>| {
        hosts
            .clone()
            .all(|h| members(node_http(net, h, HTTP_PORT)).as_ref() == Some(want))
    };
    wait_until("n1..n4 each see n1..n4", Duration::from_secs(20), || {
        sees(&net, 11..=14, &names("n", 1..=4))
    });
    eprintln!("4 nodes formed a cluster from {NAME} in {:?}", started.elapsed());

    // 2. Two more nodes that discover nobody themselves: the records alone bring them in.
    for i in 5..=6u8 {
        let ns = spaces[usize::from(i - 1)].clone();
        start_node(
            &mut net,
            &ns,
            &format!("n{i}"),
            10 + i,
            (LINK_PORT, HTTP_PORT),
            "none",
            "c1",
        );
    }
    dns.set(&net, &[11, 12, 13, 14, 15, 16], &srv_hosts);
    wait_until("n1..n6 each see n1..n6", Duration::from_secs(20), || {
        sees(&net, 11..=16, &names("n", 1..=6))
    });
    // n1 may have met n5 through another node's lookup first; its own next lookup proposes
    // n5, which it is linked to already: joined.
    let n5 = SocketAddr::from((net.ip(15), LINK_PORT));
    wait_until("n1 lists candidate n5 as joined", Duration::from_secs(10), || {
        discovery(node_http(&net, 11, HTTP_PORT)).is_some_and(|v| {
            v.candidates
                .iter()
                .any(|c| c.addr == n5 && c.outcome == CandidateOutcome::Joined)
        })
    });
    eprintln!("scaled to 6 in {:?}", started.elapsed());

    // 3. The name shrinks to three hosts: every node looks it up again, and all six stay.
    let shrunk_at = now_ms();
    dns.set(&net, &[11, 12, 13], &srv_hosts);
    let three: Vec<SocketAddr> = (11..=13u8)
        .map(|h| SocketAddr::from((net.ip(h), LINK_PORT)))
        .collect();
    wait_until(
        "n1..n4 looked the name up twice since it shrank",
        Duration::from_secs(20),
        || {
            (11..=14u8).all(|h| {
                discovery(node_http(&net, h, HTTP_PORT)).is_some_and(|v| {
                    v.strategies
                        .iter()
                        .any(|s| s.found == three && s.last_lookup_ms.is_some_and(|t| t > shrunk_at + 700))
                })
            })
        },
    );
    assert!(
        sees(&net, 11..=16, &names("n", 1..=6)),
        "a shorter answer removed a live member"
    );
    eprintln!(
        "the name shrank to 3 hosts; all 6 stayed members ({:?})",
        started.elapsed()
    );

    // 4. A host behind the name that holds another cookie: n1 says why it did not join it,
    // through `GET /api/discovery` and `shoal discovery`.
    let stranger_ns = net.namespace("x7", 17, dns_ip);
    let many = format!("dns:{MANY}:{LINK_PORT}");
    start_node(
        &mut net,
        &stranger_ns,
        "x7",
        17,
        (LINK_PORT, HTTP_PORT),
        &many,
        "other",
    );
    dns.set(&net, &[11, 12, 13, 17], &srv_hosts);
    let x7 = SocketAddr::from((net.ip(17), LINK_PORT));
    wait_until("n1 reports x7's wrong cookie", Duration::from_secs(20), || {
        discovery(node_http(&net, 11, HTTP_PORT)).is_some_and(|v| {
            v.candidates
                .iter()
                .any(|c| c.addr == x7 && c.outcome == CandidateOutcome::WrongCookie)
        })
    });
    // x7's name has 150 A records: a truncated UDP answer was retried over TCP.
    wait_until(
        "x7 found all 150 records of the big name",
        Duration::from_secs(20),
        || {
            discovery(node_http(&net, 17, HTTP_PORT)).is_some_and(|v| {
                v.strategies
                    .iter()
                    .any(|s| s.strategy == many && s.found.len() == 150)
            })
        },
    );
    let n1 = node_http(&net, 11, HTTP_PORT).to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(["discovery", "--connect", &n1])
        .output()
        .expect("run shoal discovery");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("shoal discovery --connect {n1}:\n{text}");
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = text
        .lines()
        .find(|l| {
            let mut cells = l.split_whitespace();
            cells.next() == Some("n1") && cells.next() == Some(x7.to_string().as_str())
        })
        .unwrap_or_else(|| panic!("no row for n1's candidate {x7}:\n{text}"));
    assert!(row.contains("refused: wrong cookie"), "{row}");
    assert!(text.contains(&format!("dns:{NAME}:{LINK_PORT}")), "{text}");
    assert!(
        sees(&net, 11..=16, &names("n", 1..=6)),
        "a stranger behind the name changed the membership"
    );

    // 5. SRV records with a port per node.
    wait_until("m1..m3 each see m1..m3", Duration::from_secs(20), || {
        (1..=3u8).all(|i| {
            members(node_http(&net, 10 + i, 8100 + u16::from(i))).as_ref() == Some(&names("m", 1..=3))
        })
    });
    let view = discovery(node_http(&net, 11, 8101)).expect("m1's /api/discovery");
    let srv = &view.strategies[0];
    assert_eq!(srv.strategy, format!("dns-srv:{SRV}"));
    let ports: BTreeSet<u16> = srv.found.iter().map(SocketAddr::port).collect();
    assert_eq!(ports, BTreeSet::from([7101, 7102, 7103]), "{view:?}");
    eprintln!("done in {:?}", started.elapsed());
    drop(net);
}

fn dnsmasq_args(conf: &Path, hosts: &Path, ip: Ipv4Addr) -> Vec<String> {
    vec![
        "dnsmasq".into(),
        "--keep-in-foreground".into(),
        "--no-resolv".into(),
        "--no-hosts".into(),
        "--no-negcache".into(),
        "--bind-interfaces".into(),
        format!("--listen-address={ip}"),
        "--port=53".into(),
        format!("--conf-file={}", conf.display()),
        format!("--addn-hosts={}", hosts.display()),
        "--pid-file".into(),
        "--user=root".into(),
        "--log-facility=-".into(),
    ]
}

fn now_ms() -> u64 {
    shoal_node::now_us() / 1000
}

/// Removes a directory on drop.
struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
