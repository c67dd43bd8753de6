//! Detection: time from `kill -9` / `kill -STOP` of a node until every other node reports it down.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{Value, json};
use shoal_api::Line;
use shoal_node::now_us;

use super::cluster::{BenchCluster, wait_sees_all};
use super::{max, median, round2};

/// Nodes that stay up and watch each victim.
const WATCHERS: usize = 4;

pub(crate) fn run(bin: &Path, trials: usize) -> anyhow::Result<Value> {
    let names: Vec<String> = (1..=WATCHERS).map(|i| format!("w{i}")).collect();
    let cluster = BenchCluster::start_formed(bin, &names)?;
    let mut out = serde_json::Map::new();
    for (label, signal) in [("kill", Signal::SIGKILL), ("stop", Signal::SIGSTOP)] {
        let mut times = Vec::new();
        for trial in 0..trials {
            let ms = one_trial(&cluster, &format!("{label}{trial}"), signal)?;
            eprintln!("{label} detection, trial {}: {ms:.2} ms", trial + 1);
            times.push(ms);
        }
        out.insert(format!("{label}_detect_p50_ms"), json!(round2(median(&times))));
        out.insert(format!("{label}_detect_max_ms"), json!(round2(max(&times))));
    }
    out.insert("watchers".into(), json!(WATCHERS));
    out.insert("trials".into(), json!(trials));
    Ok(Value::Object(out))
}

/// Adds a victim, waits until every watcher sees it, signals it, and returns ms until the
/// last watcher reported it down.
fn one_trial(cluster: &BenchCluster, victim_name: &str, signal: Signal) -> anyhow::Result<f64> {
    let victim = cluster.spawn(victim_name)?;
    for node in &cluster.nodes {
        wait_sees_all(node, &[victim_name], Duration::from_secs(30))
            .ok_or_else(|| anyhow::anyhow!("{} never saw {victim_name}", node.ready.name))?;
    }
    let t0 = now_us();
    victim.signal(signal)?;
    let mut last = t0;
    for node in &cluster.nodes {
        let down = node
            .wait_line(
                |e| matches!(e, Line::NodeDown { node, .. } if node == victim_name),
                Duration::from_secs(60),
            )
            .ok_or_else(|| anyhow::anyhow!("{} never reported {victim_name} down", node.ready.name))?;
        if let Line::NodeDown { at_us, .. } = down {
            last = last.max(at_us);
        }
    }
    drop(victim); // SIGCONT + SIGKILL + reap
    Ok(last.saturating_sub(t0) as f64 / 1000.0)
}
