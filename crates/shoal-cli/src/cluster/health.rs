//! `shoal cluster health`: every check must pass for exit code 0.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::state::ClusterState;
use super::status::{members, row};
use crate::bench::procfs;

pub(crate) fn run(dir: &Path, json: bool) -> anyhow::Result<()> {
    let state = ClusterState::load_required(dir)?;
    let (healthy, checks, rows) = evaluate(&state);
    if json {
        println!(
            "{}",
            json!({ "healthy": healthy, "checks": checks, "nodes": rows })
        );
    } else {
        for c in &checks {
            let mark = if c["ok"] == true { "ok  " } else { "FAIL" };
            println!(
                "{mark} {:<12} {}",
                c["check"].as_str().unwrap_or(""),
                c["detail"].as_str().unwrap_or("")
            );
        }
    }
    if !healthy {
        anyhow::bail!(
            "cluster in {} is not healthy; see the failing checks above",
            dir.display()
        );
    }
    Ok(())
}

/// Runs every check: whether all pass, the checks, and the status rows.
pub(crate) fn evaluate(state: &ClusterState) -> (bool, Vec<Value>, Vec<Value>) {
    let rows: Vec<Value> = state.nodes.iter().map(|n| row(state, n)).collect();
    let checks = checks(state, &rows);
    (checks.iter().all(|c| c["ok"] == true), checks, rows)
}

fn checks(state: &ClusterState, rows: &[Value]) -> Vec<Value> {
    // CPU is sampled over a window while the HTTP checks run, so health takes about the
    // window, not the window plus the checks.
    let pids: Vec<u32> = state.nodes.iter().map(|n| n.pid).collect();
    let sampler = std::thread::spawn(move || procfs::cpu_percent(&pids, CPU_WINDOW));
    let size = state.nodes.len();
    let down: Vec<&str> = rows
        .iter()
        .filter(|r| r["state"] != "up")
        .filter_map(|r| r["name"].as_str())
        .collect();
    let (disagree, linked, rtts) = views(state);
    let mut versions: Vec<String> = rows
        .iter()
        .filter_map(|r| r["version"].as_str().map(String::from))
        .collect();
    versions.sort();
    versions.dedup();
    let registry = settled(|| registry_check(state));
    let supervisor = settled(|| supervisor_check(state));
    let cpu = sampler.join().unwrap_or_default();
    let resources: Vec<String> = state
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let rss = procfs::rss_kib(n.pid).unwrap_or(0) as f64 / 1024.0;
            match cpu.get(i) {
                Some(cpu) => format!("{} {rss:.1} MiB {cpu:.1}% CPU", n.name),
                None => format!("{} {rss:.1} MiB", n.name),
            }
        })
        .collect();
    let links = match (
        rtts.len(),
        super::super::bench::median(&rtts),
        rtts.iter().copied().fold(0.0, f64::max),
    ) {
        (0, ..) => "every node holds a link to every other".to_owned(),
        (_, p50, max) => {
            format!("every node holds a link to every other; RTT p50 {p50:.0} µs, max {max:.0} µs")
        }
    };
    vec![
        check(
            "nodes up",
            down.is_empty(),
            &if down.is_empty() {
                format!("{size} of {size}")
            } else {
                format!("down: {}", down.join(", "))
            },
        ),
        check(
            "full mesh",
            disagree.is_empty(),
            &if disagree.is_empty() {
                format!("every node sees all {size}")
            } else {
                format!("incomplete view on: {}", disagree.join(", "))
            },
        ),
        check("links", linked, &links),
        check("same build", versions.len() == 1, &versions.join(" vs ")),
        registry,
        supervisor,
        check("resources", true, &resources.join(", ")),
    ]
}

/// Views read over HTTP one node after another differ for the milliseconds a change takes to
/// replicate, and right after `cluster start --demo` the workload is still starting: an
/// agreement check passes as soon as it holds within this window.
const SETTLE_WINDOW: Duration = Duration::from_secs(3);

/// Runs `check` until it passes or [`SETTLE_WINDOW`] is over; returns its last result.
fn settled(check: impl Fn() -> Value) -> Value {
    let deadline = Instant::now() + SETTLE_WINDOW;
    loop {
        let result = check();
        if result["ok"] == true || Instant::now() >= deadline {
            return result;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every node's view of the global registry is the same.
fn registry_check(state: &ClusterState) -> Value {
    let views: Vec<Option<Vec<(String, String)>>> = state
        .nodes
        .iter()
        .map(|n| {
            let entries = super::status::get_json(n.http?, "/api/registry")?;
            let mut names: Vec<(String, String)> = entries
                .as_array()?
                .iter()
                .filter_map(|e| Some((e["name"].as_str()?.to_owned(), e["pid_text"].as_str()?.to_owned())))
                .collect();
            names.sort();
            Some(names)
        })
        .collect();
    let agree = views.iter().all(Option::is_some) && views.windows(2).all(|w| w[0] == w[1]);
    let count = views.first().and_then(|v| v.as_ref().map(Vec::len)).unwrap_or(0);
    let detail = if agree {
        format!("every node has the same {count} name(s)")
    } else {
        "views differ (or a node did not answer); see `shoal registry`".to_owned()
    };
    check("registry", agree, &detail)
}

/// Every node's child table is the same, and every child that is not given up runs, once,
/// on its owner.
fn supervisor_check(state: &ClusterState) -> Value {
    let views: Vec<Option<Vec<(String, String, bool)>>> = state
        .nodes
        .iter()
        .map(|n| {
            let body = super::status::get_json(n.http?, "/api/supervisor")?;
            let mut children: Vec<(String, String, bool)> = body["children"]
                .as_array()?
                .iter()
                .filter_map(|c| {
                    let running = !c["pid"].is_null() || !c["failed"].is_null();
                    Some((
                        c["id"].as_str()?.to_owned(),
                        c["owner"].as_str()?.to_owned(),
                        running,
                    ))
                })
                .collect();
            children.sort();
            Some(children)
        })
        .collect();
    let agree = views.iter().all(Option::is_some) && views.windows(2).all(|w| w[0] == w[1]);
    let children = views.first().cloned().flatten().unwrap_or_default();
    let stopped: Vec<&str> = children.iter().filter(|c| !c.2).map(|c| c.0.as_str()).collect();
    let detail = match (agree, stopped.as_slice()) {
        (false, _) => "child tables differ (or a node did not answer); see /api/supervisor".to_owned(),
        (true, []) => format!(
            "every node has the same {} child(ren), all running",
            children.len()
        ),
        (true, some) => format!("not running: {}", some.join(", ")),
    };
    check("supervisor", agree && stopped.is_empty(), &detail)
}

fn check(name: &str, ok: bool, detail: &str) -> Value {
    json!({ "check": name, "ok": ok, "detail": detail })
}

/// Whether every node's view is complete (it lists all `size` nodes alive, itself included)
/// and linked (it holds a link to every peer), and the links' RTTs in µs. Each node is asked
/// once.
fn views(state: &ClusterState) -> (Vec<&str>, bool, Vec<f64>) {
    let size = state.nodes.len();
    let mut incomplete = Vec::new();
    let mut all_linked = true;
    let mut rtts = Vec::new();
    for node in &state.nodes {
        let entries = members(node).unwrap_or_default();
        if entries.iter().filter(|m| m["state"] == "alive").count() != size {
            incomplete.push(node.name.as_str());
        }
        let peers: Vec<&Value> = entries.iter().filter(|m| m["self"] == false).collect();
        all_linked &= peers.len() + 1 == size && peers.iter().all(|m| m["linked"] == true);
        rtts.extend(peers.iter().filter_map(|m| m["rtt_us"].as_f64()));
    }
    (incomplete, all_linked, rtts)
}

/// How long CPU use is sampled over (the clock tick is 10 ms, so one tick is 6.7 %).
const CPU_WINDOW: std::time::Duration = std::time::Duration::from_millis(150);
