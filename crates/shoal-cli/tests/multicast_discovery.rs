//! Multicast discovery between real `shoal node` processes, each in its own network namespace
//! with its own IP on one bridge: four nodes started with `--discovery multicast` and no seeds
//! form a cluster from beacons alone; a fifth with another cookie is never a member, the four
//! count its beacons as ignored (`GET /api/discovery`, `GET /metrics`, `shoal discovery`), and
//! it counts theirs.
//!
//! Needs root and `ip` (iproute2); elsewhere it says why and passes (fails with
//! `SHOAL_REQUIRE_TOOLS` set).

#[path = "dns_discovery/netns.rs"]
mod netns;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use shoal_api::client;
use shoal_api::views::{DiscoveryView, MemberView, MulticastView};
use shoal_api::wait_until;

use netns::{Net, NodeSpec};

const LINK_PORT: u16 = 7000;
const HTTP_PORT: u16 = 8080;
/// The last octets of the four nodes of the cluster, and of the stranger.
const HOSTS: std::ops::RangeInclusive<u8> = 11..=14;
const STRANGER: u8 = 15;

fn http(net: &Net, host: u8) -> SocketAddr {
    SocketAddr::from((net.ip(host), HTTP_PORT))
}

fn members(net: &Net, host: u8) -> Option<BTreeSet<String>> {
    let list: Vec<MemberView> = client::get(http(net, host), "/api/members", Duration::from_secs(1)).ok()?;
    Some(list.into_iter().map(|m| m.name).collect())
}

fn beacons(net: &Net, host: u8) -> Option<MulticastView> {
    let view: DiscoveryView = client::get(http(net, host), "/api/discovery", Duration::from_secs(1)).ok()?;
    view.multicast
}

/// The value of the sample `series` in `host`'s `GET /metrics`.
fn metric(net: &Net, host: u8, series: &str) -> Option<f64> {
    let (status, text) = client::http_get(http(net, host), "/metrics").ok()?;
    if status != 200 {
        return None;
    }
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

fn start_node(net: &mut Net, ns: &str, host: u8, cookie: &str) {
    let name = format!("n{}", host - 10);
    let extra = ["--discovery", "multicast", "--discovery-interval-ms", "200"];
    net.shoal_node(
        ns,
        &NodeSpec {
            name: &name,
            host,
            ports: (LINK_PORT, HTTP_PORT),
            cookie,
            extra: &extra,
        },
    );
}

#[test]
fn four_nodes_form_a_cluster_from_beacons_and_ignore_another_cookies() {
    if let Some(why) = netns::unavailable(&[])
        && shoal_api::env::skip_without_tool(&format!("multicast_discovery needs network namespaces: {why}"))
    {
        return;
    }
    let started = Instant::now();
    let mut net = Net::new();
    let gateway = net.ip(1);
    for host in HOSTS.chain([STRANGER]) {
        let ns = net.namespace(&format!("m{host}"), host, gateway);
        let cookie = if host == STRANGER { "another" } else { "c1" };
        start_node(&mut net, &ns, host, cookie);
    }
    let four: BTreeSet<String> = HOSTS.map(|h| format!("n{}", h - 10)).collect();
    let formed = wait_until(Duration::from_secs(15), || {
        HOSTS
            .clone()
            .all(|h| members(&net, h).as_ref() == Some(&four))
            .then_some(())
    });
    assert!(
        formed.is_some(),
        "n1..n4 never each saw n1..n4: {:?}",
        HOSTS.map(|h| members(&net, h)).collect::<Vec<_>>()
    );
    eprintln!("4 nodes formed a cluster from beacons in {:?}", started.elapsed());

    // Each of the four ignores the stranger's beacons (another cookie), and says who sent
    // the last one; the stranger ignores theirs.
    let stranger_ip = IpAddr::from(net.ip(STRANGER));
    let counted = wait_until(Duration::from_secs(10), || {
        HOSTS
            .clone()
            .all(|h| {
                beacons(&net, h).is_some_and(|b| {
                    b.accepted >= 3
                        && b.ignored >= 1
                        && b.last_ignored
                            .is_some_and(|l| l.from.ip() == stranger_ip && l.reason == "bad_tag")
                })
            })
            .then_some(())
    });
    assert!(
        counted.is_some(),
        "not every node counted the stranger's beacons: {:?}",
        HOSTS.map(|h| beacons(&net, h)).collect::<Vec<_>>()
    );
    let stranger = wait_until(Duration::from_secs(10), || {
        beacons(&net, STRANGER).filter(|b| b.ignored >= 4)
    })
    .unwrap_or_else(|| {
        panic!(
            "the stranger did not count 4 ignored beacons: {:?}",
            beacons(&net, STRANGER)
        )
    });
    assert_eq!(stranger.accepted, 0, "{stranger:?}");
    assert!(stranger.sent >= 1, "{stranger:?}");
    assert_eq!(
        members(&net, STRANGER),
        Some(BTreeSet::from(["n5".to_owned()])),
        "the stranger joined someone"
    );

    // The same counts through Prometheus.
    let ignored = r#"shoal_discovery_beacons_total{result="ignored"}"#;
    let accepted = r#"shoal_discovery_beacons_total{result="accepted"}"#;
    for h in HOSTS {
        assert!(
            metric(&net, h, ignored).is_some_and(|v| v >= 1.0),
            "n{}: {ignored}",
            h - 10
        );
        assert!(
            metric(&net, h, accepted).is_some_and(|v| v >= 3.0),
            "n{}: {accepted}",
            h - 10
        );
    }
    assert!(metric(&net, STRANGER, ignored).is_some_and(|v| v >= 4.0));
    assert_eq!(metric(&net, STRANGER, accepted), Some(0.0));

    // `shoal discovery` shows the beacons table.
    let n1 = http(&net, 11).to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(["discovery", "--connect", &n1])
        .output()
        .expect("run shoal discovery");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("n1 ") && l.contains("239.255.77.77:7710") && l.contains("bad_tag from"))
        .unwrap_or_else(|| panic!("no beacons row for n1:\n{text}"));
    assert!(row.contains(&stranger_ip.to_string()), "{row}");

    // After all that, the four are still exactly the four.
    for h in HOSTS {
        assert_eq!(members(&net, h).as_ref(), Some(&four), "n{}", h - 10);
    }
    eprintln!("done in {:?}", started.elapsed());
    drop(net);
}
