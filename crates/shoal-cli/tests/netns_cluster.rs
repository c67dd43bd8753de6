//! `shoal cluster start --netns`: real `shoal node` processes, each in its own network
//! namespace with its own IP on a bridge the command makes. A 5-node demo cluster loses one
//! node's link (`shoal cluster partition`, a veth down): the majority downs it and runs every
//! supervised counter, the cut node isolates itself; after `heal` the cluster is whole with
//! exactly one instance of each counter, read by value over the HTTP API. A 3-node cluster
//! forms from a DNS name served by dnsmasq. `cluster stop` leaves no namespace, link,
//! dnsmasq or marker behind.
//!
//! Needs root, `ip` (iproute2) and `dnsmasq`; elsewhere it prints why and passes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use shoal_api::client;
use shoal_node::actor::COUNTER_FACTORY;

const WAIT: Duration = Duration::from_secs(20);
const COUNTERS: usize = 24;

/// Why namespaces cannot be made here, or `None` when they can (`test` names the probe
/// namespace, so tests that run at once do not share one).
fn unavailable(test: &str) -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("network namespaces need root".into());
    }
    for (tool, arg) in [("ip", "-V"), ("dnsmasq", "--version")] {
        if !quiet(&[tool, arg]) {
            return Some(format!(
                "{tool} is not installed (apt-get install iproute2 dnsmasq)"
            ));
        }
    }
    let probe = format!("shprobe{}{test}", std::process::id());
    if !quiet(&["ip", "netns", "add", &probe]) {
        return Some("`ip netns add` fails here (no CAP_SYS_ADMIN?)".into());
    }
    quiet(&["ip", "netns", "del", &probe]);
    None
}

fn quiet(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn output(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("run a system tool");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A state directory, stopped (network included) and removed however the test ends.
struct Cluster(PathBuf);

impl Cluster {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("shoal-netns-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }

    /// `shoal cluster --state-dir DIR ARGS...`.
    fn shoal(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_shoal"))
            .arg("cluster")
            .arg("--state-dir")
            .arg(&self.0)
            .args(args)
            .output()
            .expect("run shoal")
    }

    /// Runs `shoal cluster ARGS` and fails the test, with its stderr, unless it succeeds.
    fn ok(&self, args: &[&str]) -> Output {
        let out = self.shoal(args);
        assert!(
            out.status.success(),
            "shoal cluster {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn state(&self) -> Value {
        let bytes = std::fs::read(self.0.join("cluster.json")).expect("read cluster.json");
        serde_json::from_slice(&bytes).expect("cluster.json is JSON")
    }

    /// The network's id.
    fn id(&self) -> String {
        self.state()["netns"]["id"]
            .as_str()
            .expect("a --netns id")
            .to_owned()
    }

    /// Each node's recorded HTTP address, in order.
    fn http(&self) -> Vec<SocketAddr> {
        self.state()["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| {
                n["http"]
                    .as_str()
                    .expect("an HTTP address")
                    .parse()
                    .expect("an address")
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.shoal(&["stop"]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn get(addr: SocketAddr, path: &str) -> Option<Value> {
    client::get(addr, path, Duration::from_secs(1)).ok()
}

/// Polls `check` every 100 ms until it returns `Some`; fails naming `what` and the last
/// reason after `within`.
fn wait_for<T>(what: &str, within: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + within;
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) => assert!(
                Instant::now() < deadline,
                "timed out after {within:?} waiting until {what}: {last}"
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Names of the members `addr` lists alive.
fn alive(addr: SocketAddr) -> Option<BTreeSet<String>> {
    let members = get(addr, "/api/members")?;
    Some(
        members
            .as_array()?
            .iter()
            .filter(|m| m["state"] == "alive")
            .filter_map(|m| Some(m["name"].as_str()?.to_owned()))
            .collect(),
    )
}

/// Every demo counter that runs on the nodes at `nodes` (index i is `n<i+1>`): its node and
/// count, read from the actor's state. `Err` names a counter that runs twice, a missing one,
/// or a node that does not answer.
fn counters(nodes: &[(usize, SocketAddr)]) -> Result<BTreeMap<String, (String, u64)>, String> {
    let mut runs: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for (i, addr) in nodes {
        let node = format!("n{}", i + 1);
        let actors = get(*addr, "/api/actors").ok_or(format!("{node} does not answer"))?;
        for a in actors.as_array().into_iter().flatten() {
            let names: Vec<&str> = a["registered"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if a["name"] != COUNTER_FACTORY || names.contains(&"demo.clock") {
                continue;
            }
            // A counter instance without its name would be a second instance of a child.
            let id = names
                .iter()
                .find(|n| n.starts_with("demo.counter."))
                .ok_or(format!("a counter without a name runs on {node}: {a}"))?;
            let state = get(*addr, &format!("/api/actors/{}/state", a["pid"]["id"]));
            let count = state
                .and_then(|s| s["state"]["count"].as_u64())
                .ok_or(format!("{id} on {node} has no count"))?;
            runs.entry((*id).to_owned())
                .or_default()
                .push((node.clone(), count));
        }
    }
    let mut once = BTreeMap::new();
    for (id, on) in runs {
        match on.as_slice() {
            [one] => once.insert(id, one.clone()),
            _ => return Err(format!("{id} runs {} times: {on:?}", on.len())),
        };
    }
    if once.len() == COUNTERS {
        Ok(once)
    } else {
        Err(format!("{} of {COUNTERS} counters run: {once:?}", once.len()))
    }
}

/// Whether node `addr`'s history has a split-brain decision `reason` at or after `since_us`.
fn decided(addr: SocketAddr, reason: &str, since_us: u64) -> bool {
    get(addr, "/api/history").is_some_and(|h| {
        h["events"].as_array().into_iter().flatten().any(|e| {
            e["kind"] == "split_brain" && e["reason"] == reason && e["at_us"].as_u64() >= Some(since_us)
        })
    })
}

/// Nothing of network `id` is left: no namespace, link, marker or process in it.
fn assert_gone(id: &str) {
    let namespaces = output(&["ip", "netns", "list"]);
    assert!(
        !namespaces.contains(&format!("shoal-{id}-")),
        "namespaces left: {namespaces}"
    );
    let links = output(&["ip", "-o", "link", "show"]);
    assert!(!links.contains(&format!("shn{id}")), "links left: {links}");
    assert!(
        !Path::new(&format!("/run/shoal-netns/{id}.json")).exists(),
        "marker left"
    );
}

#[test]
fn a_link_down_fails_over_to_the_majority_and_the_heal_leaves_one_instance_of_each_child() {
    if let Some(why) = unavailable("split")
        && shoal_api::env::skip_without_tool(&format!("netns_cluster: {why}"))
    {
        return;
    }
    let started = Instant::now();
    let cluster = Cluster::new("split");
    cluster.ok(&["start", "--netns", "--demo", "--size", "5"]);
    let id = cluster.id();
    let http = cluster.http();
    // Each node on its own IP of one /24, in its own namespace; the host reaches them all.
    let ips: BTreeSet<_> = http.iter().map(SocketAddr::ip).collect();
    assert_eq!(ips.len(), 5, "{http:?}");
    assert!(ips.iter().all(|ip| !ip.is_loopback()), "{ips:?}");
    let namespaces = output(&["ip", "netns", "list"]);
    for i in 1..=5 {
        assert!(namespaces.contains(&format!("shoal-{id}-n{i}")), "{namespaces}");
    }
    let everyone: BTreeSet<String> = (1..=5).map(|i| format!("n{i}")).collect();
    for addr in &http {
        assert_eq!(alive(*addr).as_ref(), Some(&everyone), "{addr}'s view");
    }
    cluster.ok(&["status"]);
    let all: Vec<(usize, SocketAddr)> = http.iter().copied().enumerate().collect();
    wait_for("every counter runs once, n5 running some", WAIT, || {
        let c = counters(&all)?;
        let on_n5 = c.values().filter(|(n, _)| n == "n5").count();
        if on_n5 == 0 {
            return Err("n5 runs no counter yet".into());
        }
        Ok(c)
    });
    eprintln!("5 nodes formed, counters placed: {:?}", started.elapsed());

    // n5's link down: the majority downs it, its counters restart on n1..n4.
    let cut_at = shoal_node::now_us();
    cluster.ok(&["partition", "n1,n2,n3,n4", "/", "n5"]);
    let hub = format!("shoal-{id}-hub");
    let link = output(&["ip", "-n", &hub, "-o", "link", "show", "n5"]);
    assert!(link.contains("state DOWN"), "{link}");
    let majority: Vec<(usize, SocketAddr)> = all[..4].to_vec();
    let four: BTreeSet<String> = (1..=4).map(|i| format!("n{i}")).collect();
    wait_for("n1..n4 down n5 and run every counter once", WAIT, || {
        for (i, addr) in &majority {
            let view = alive(*addr).ok_or(format!("n{} does not answer", i + 1))?;
            if view != four {
                return Err(format!("n{} sees {view:?}", i + 1));
            }
            let node = get(*addr, "/api/node").ok_or("no /api/node")?;
            if node["isolated"] != false {
                return Err(format!("n{} is isolated", i + 1));
            }
        }
        counters(&majority)
    });
    eprintln!("failed over to the majority: {:?}", started.elapsed());

    cluster.ok(&["heal"]);
    wait_for("after the heal: one cluster, each counter once", WAIT, || {
        for (i, addr) in &all {
            let view = alive(*addr).ok_or(format!("n{} does not answer", i + 1))?;
            if view != everyone {
                return Err(format!("n{} sees {view:?}", i + 1));
            }
            let node = get(*addr, "/api/node").ok_or("no /api/node")?;
            if node["isolated"] != false {
                return Err(format!("n{} is still isolated", i + 1));
            }
        }
        counters(&all)
    });
    // The cut node judged itself the losing side while cut off, and runs again now.
    assert!(decided(http[4], "isolated", cut_at), "n5 never isolated itself");
    cluster.ok(&["status"]);
    eprintln!("healed, whole again: {:?}", started.elapsed());

    cluster.ok(&["stop"]);
    assert_gone(&id);
    assert!(!cluster.0.join("cluster.json").exists());
    eprintln!("done in {:?}", started.elapsed());
}

#[test]
fn a_cluster_forms_from_a_dns_name_or_from_multicast_beacons_and_stop_removes_it_all() {
    if let Some(why) = unavailable("dns")
        && shoal_api::env::skip_without_tool(&format!("netns_cluster: {why}"))
    {
        return;
    }
    let started = Instant::now();
    let cluster = Cluster::new("dns");
    cluster.ok(&[
        "start",
        "--netns",
        "--discovery",
        "dns",
        "--size",
        "3",
        "--discovery-interval-ms",
        "500",
    ]);
    let id = cluster.id();
    let dns_ns = format!("shoal-{id}-dns");
    let dnsmasq: Vec<u32> = output(&["ip", "netns", "pids", &dns_ns])
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(dnsmasq.len(), 1, "one dnsmasq in {dns_ns}: {dnsmasq:?}");
    let http = cluster.http();
    let three: BTreeSet<String> = (1..=3).map(|i| format!("n{i}")).collect();
    for addr in &http {
        assert_eq!(alive(*addr).as_ref(), Some(&three), "{addr}'s view");
        // Found from the name: its lookup lists the three nodes' link addresses.
        let view = get(*addr, "/api/discovery").expect("/api/discovery");
        let dns = &view["strategies"][0];
        assert!(
            dns["strategy"]
                .as_str()
                .is_some_and(|s| s.starts_with("dns:nodes.shoal.internal")),
            "{view}"
        );
        assert_eq!(dns["found"].as_array().map(Vec::len), Some(3), "{view}");
    }
    eprintln!("3 nodes formed from DNS: {:?}", started.elapsed());

    cluster.ok(&["stop"]);
    assert_gone(&id);
    assert!(
        // A zombie (not reaped yet by whoever inherited it) has no exe link.
        dnsmasq
            .iter()
            .all(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_err()),
        "dnsmasq survived stop"
    );

    // The same from multicast beacons alone (no DNS server, no seeds), links over TLS.
    cluster.ok(&[
        "start",
        "--netns",
        "--discovery",
        "multicast",
        "--tls",
        "--size",
        "3",
    ]);
    let id = cluster.id();
    let mut accepted = 0;
    for addr in &cluster.http() {
        assert_eq!(alive(*addr).as_ref(), Some(&three), "{addr}'s view");
        let view = get(*addr, "/api/discovery").expect("/api/discovery");
        let strategy = view["strategies"][0]["strategy"].as_str().unwrap_or_default();
        assert!(strategy.starts_with("multicast"), "{view}");
        // The last node to start may have heard nobody's beacon yet: the others heard its.
        accepted += view["multicast"]["accepted"].as_u64().unwrap_or(0);
    }
    assert!(accepted >= 2, "{accepted} beacons accepted in all");
    let log = std::fs::read_to_string(cluster.0.join("logs").join("n1.log")).unwrap_or_default();
    assert!(
        log.contains("links: mutual TLS required"),
        "n1 runs without TLS:\n{log}"
    );
    eprintln!("3 nodes formed from multicast, over TLS: {:?}", started.elapsed());
    cluster.ok(&["stop"]);
    assert_gone(&id);
}

#[test]
fn the_network_of_a_start_killed_half_way_is_swept_once_its_state_dir_is_gone() {
    if let Some(why) = unavailable("kill")
        && shoal_api::env::skip_without_tool(&format!("netns_cluster: {why}"))
    {
        return;
    }
    let cluster = Cluster::new("killed");
    let mut start = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(["cluster", "start", "--netns", "--size", "3", "--state-dir"])
        .arg(&cluster.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn shoal cluster start");
    // Killed once its network exists, while it starts nodes or waits for them.
    let id = wait_for("start made n1's namespace", WAIT, || {
        let state = std::fs::read(cluster.0.join("cluster.json")).map_err(|e| e.to_string())?;
        let state: Value = serde_json::from_slice(&state).map_err(|e| e.to_string())?;
        let id = state["netns"]["id"]
            .as_str()
            .ok_or("no network recorded yet")?
            .to_owned();
        let namespaces = output(&["ip", "netns", "list"]);
        if namespaces.contains(&format!("shoal-{id}-n1")) {
            Ok(id)
        } else {
            Err(namespaces)
        }
    });
    start.kill().expect("SIGKILL start");
    let _ = start.wait();
    std::fs::remove_dir_all(&cluster.0).expect("remove the state dir");
    // Any later `stop` (here of another, empty state dir) sweeps what nothing records.
    let other = Cluster::new("sweeper");
    other.ok(&["stop"]);
    assert_gone(&id);
    let dir = cluster.0.display().to_string();
    let nodes: Vec<String> = std::fs::read_dir("/proc")
        .expect("read /proc")
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(&dir))
                && std::fs::read_link(e.path().join("exe")).is_ok()
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        nodes.is_empty(),
        "node processes of the killed start survived: {nodes:?}"
    );
}
