//! A cut between two nodes only, over 5 real `shoal node --demo` processes (issue 16; the
//! rule in `shoal_proto::membership`'s `indirect.rs`, docs/design-notes.md "A cut between two
//! nodes only"). c2 <-> c3 drop each other's traffic for several seconds while both still
//! reach c1, c4 and c5. Neither is the other's seed (c1 is everyone's), so after the heal
//! only the membership core's re-dial links them again: a dial the fault filter blocked
//! must count as failed, or the core waits for its outcome for ever. The 24 demo counters are read by value (their count) before, during
//! and after: each runs exactly once, on the node it ran on before, and no count goes back.
//! Nobody is declared down and no life ends, during the cut or after the heal.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use shoal_testkit::{NodeProcess, http_get, http_post, wait_until};

const NODES: usize = 5;
const CHILDREN: usize = 24;
const TOKEN: &str = "pair-cut-test-token";
const WAIT: Duration = Duration::from_secs(60);
/// How long the cut lasts: several link deadlines, stable periods and take-over margins.
const CUT: Duration = Duration::from_secs(8);

/// The 5 processes, killed on drop.
struct Cluster {
    nodes: Vec<NodeProcess>,
}

impl Cluster {
    fn start(bin: &Path) -> Self {
        let cookie = format!("pair-cut-{}", std::process::id());
        let mut nodes: Vec<NodeProcess> = Vec::new();
        for i in 1..=NODES {
            let seeds = nodes
                .first()
                .map(|n| n.ready.listen.to_string())
                .unwrap_or_default();
            let env = [
                ("SHOAL_COOKIE", cookie.as_str()),
                ("SHOAL_DISCOVERY", "static"),
                ("SHOAL_ADMIN_TOKEN", TOKEN),
                ("SHOAL_SEEDS", seeds.as_str()),
            ];
            nodes.push(NodeProcess::spawn_with_env(bin, &format!("c{i}"), &["--demo"], &env).unwrap());
        }
        Self { nodes }
    }

    fn http(&self, i: usize) -> SocketAddr {
        self.nodes[i].ready.http.unwrap()
    }

    fn get(&self, i: usize, path: &str) -> Option<Value> {
        let (status, body) = http_get(self.http(i), path).ok()?;
        (status == 200).then(|| serde_json::from_str(&body).ok())?
    }

    /// Node `i` drops all traffic with `peers` (empty: heals it).
    fn cut(&self, i: usize, peers: &[&str]) {
        let deadline_ms = shoal_node::now_us() / 1000 + 4_000;
        let path = if peers.is_empty() {
            format!("/api/chaos/heal?deadline_ms={deadline_ms}")
        } else {
            format!(
                "/api/chaos/partition?peers={}&deadline_ms={deadline_ms}",
                peers.join(",")
            )
        };
        let (status, body) = http_post(self.http(i), &path, Some(TOKEN)).unwrap();
        assert_eq!(status, 200, "{path} on c{}: {body}", i + 1);
    }

    /// Every demo counter: the node its instance runs on and its count. `Err` names a child
    /// that does not run exactly once (or a node that did not answer).
    fn counters(&self) -> Result<BTreeMap<String, (String, u64)>, String> {
        let mut label = BTreeMap::new();
        for i in 0..NODES {
            let sup = self
                .get(i, "/api/supervisor")
                .ok_or(format!("c{} did not answer", i + 1))?;
            for c in sup["children"].as_array().into_iter().flatten() {
                if let (Some(id), Some(pid)) = (c["id"].as_str(), pid_key(&c["pid"])) {
                    label.insert(pid, id.to_owned());
                }
            }
        }
        let mut runs: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
        for i in 0..NODES {
            let actors = self
                .get(i, "/api/actors")
                .ok_or(format!("c{} did not answer", i + 1))?;
            for a in actors.as_array().into_iter().flatten() {
                let Some(id) = pid_key(&a["pid"]).and_then(|p| label.get(&p)) else {
                    continue;
                };
                let path = format!("/api/actors/{}/state", a["pid"]["id"]);
                let count = self.get(i, &path).and_then(|s| s["state"]["count"].as_u64());
                let count = count.ok_or(format!("{id} on c{} has no count", i + 1))?;
                runs.entry(id.clone())
                    .or_default()
                    .push((format!("c{}", i + 1), count));
            }
        }
        let counters: BTreeMap<String, (String, u64)> = runs
            .into_iter()
            .filter(|(id, _)| id.starts_with("demo.counter."))
            .map(|(id, on)| match on.as_slice() {
                [one] => Ok((id, one.clone())),
                _ => Err(format!("{id} runs {} times: {on:?}", on.len())),
            })
            .collect::<Result<_, _>>()?;
        if counters.len() == CHILDREN {
            Ok(counters)
        } else {
            Err(format!("{} of {CHILDREN} counters run", counters.len()))
        }
    }

    /// Every `node_down` and `renewed` line printed since the last call, as (printer, line).
    fn downs(&self) -> Vec<(String, Value)> {
        self.nodes
            .iter()
            .flat_map(|n| n.drain_events().into_iter().map(|e| (n.ready.name.clone(), e)))
            .filter(|(_, e)| e["event"] == "node_down" || e["event"] == "renewed")
            .collect()
    }

    /// Whether node `i` lists `peer` alive, and linked or not as `linked` says.
    fn lists(&self, i: usize, peer: &str, linked: bool) -> bool {
        self.get(i, "/api/members").is_some_and(|m| {
            m.as_array()
                .into_iter()
                .flatten()
                .any(|m| m["name"] == peer && m["state"] == "alive" && m["linked"] == linked)
        })
    }
}

fn pid_key(pid: &Value) -> Option<String> {
    Some(format!(
        "{}@{}#{}",
        pid["id"].as_u64()?,
        pid["node"]["name"].as_str()?,
        pid["node"]["creation"].as_u64()?
    ))
}

/// Each counter still runs once, on the same node, with a count not below `before`'s.
fn kept(
    before: &BTreeMap<String, (String, u64)>,
    now: &BTreeMap<String, (String, u64)>,
) -> Result<(), String> {
    for (id, (node, count)) in before {
        let (now_node, now_count) = &now[id];
        if now_node != node || now_count < count {
            return Err(format!(
                "{id} ran on {node} at {count}, now on {now_node} at {now_count}"
            ));
        }
    }
    Ok(())
}

#[test]
fn a_cut_between_two_nodes_downs_nobody_and_every_counter_runs_once_with_its_count() {
    let cluster = Cluster::start(Path::new(env!("CARGO_BIN_EXE_shoal")));
    let mut last = String::new();
    let formed = wait_until(WAIT, || match cluster.counters() {
        Ok(c) if c.values().any(|(n, _)| n == "c2") && c.values().any(|(n, _)| n == "c3") => Some(c),
        Ok(c) => {
            last = format!("c2 or c3 runs no counter yet: {c:?}");
            None
        }
        Err(e) => {
            last = e;
            None
        }
    });
    assert!(formed.is_some(), "the demo never ran every counter once: {last}");
    // Startup is not judged: rebalancing may still move counters, so wait until a read
    // finds them where the previous one did.
    let mut previous = cluster.counters().unwrap_or_default();
    let settled = wait_until(WAIT, || {
        std::thread::sleep(Duration::from_millis(500));
        let now = cluster.counters().ok()?;
        let same = now
            .iter()
            .all(|(id, (n, _))| previous.get(id).is_some_and(|(p, _)| p == n));
        previous = now.clone();
        same.then_some(now)
    });
    let before = settled.expect("the counters never stayed on their nodes");
    cluster.downs();

    cluster.cut(1, &["c3"]);
    cluster.cut(2, &["c2"]);
    let cut_at = Instant::now();
    let mut reads = 0;
    while cut_at.elapsed() < CUT {
        let now = cluster
            .counters()
            .unwrap_or_else(|e| panic!("{:?} into the cut: {e}", cut_at.elapsed()));
        kept(&before, &now).unwrap_or_else(|e| panic!("{:?} into the cut: {e}", cut_at.elapsed()));
        reads += 1;
    }
    assert!(
        cluster.lists(1, "c3", false) && cluster.lists(2, "c2", false),
        "c2 and c3 should list each other alive and unlinked at the end of the cut"
    );
    let downs = cluster.downs();
    assert!(
        downs.is_empty(),
        "a cut between two nodes declared nodes down: {downs:?}"
    );

    cluster.cut(1, &[]);
    cluster.cut(2, &[]);
    let relinked = wait_until(WAIT, || {
        (cluster.lists(1, "c3", true) && cluster.lists(2, "c2", true)).then_some(())
    });
    assert!(relinked.is_some(), "c2 and c3 never linked again after the heal");
    let after = cluster.counters().unwrap();
    kept(&before, &after).unwrap();
    let moved: u64 = after.iter().map(|(id, (_, n))| n - before[id].1).sum();
    assert!(
        moved > 0,
        "no counter ticked during {reads} reads; the check proved nothing"
    );
    let downs = cluster.downs();
    assert!(downs.is_empty(), "the heal declared nodes down: {downs:?}");
}
