//! Formation: N nodes started at once until every node sees every other; idle RSS and CPU.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use shoal_node::now_us;

use super::cluster::{BenchCluster, wait_sees_all};
use super::{max, median, procfs, round2};

pub(crate) fn run(bin: &Path, trials: usize) -> anyhow::Result<Value> {
    let mut out = serde_json::Map::new();
    for size in [3usize, 10] {
        let mut times = Vec::new();
        for trial in 0..trials {
            let (ms, cluster) = form(bin, size)?;
            eprintln!("formation of {size} nodes, trial {}: {ms:.1} ms", trial + 1);
            times.push(ms);
            if size == 10 && trial + 1 == trials {
                idle_figures(&cluster, &mut out);
            }
        }
        out.insert(format!("formation_{size}_ms"), json!(round2(median(&times))));
        out.insert(format!("formation_{size}_max_ms"), json!(round2(max(&times))));
    }
    out.insert("trials".into(), json!(trials));
    Ok(Value::Object(out))
}

/// Starts `size` nodes at once; returns ms from the first spawn until the last node's view is
/// complete, and the cluster (still running).
fn form(bin: &Path, size: usize) -> anyhow::Result<(f64, BenchCluster)> {
    let mut cluster = BenchCluster::new(bin)?;
    let names: Vec<String> = (1..=size).map(|i| format!("n{i}")).collect();
    let t0 = now_us();
    cluster.nodes = cluster.spawn_all(&names)?;
    let peers: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut done = 0;
    for node in &cluster.nodes {
        let at = wait_sees_all(node, &peers, Duration::from_secs(30))
            .ok_or_else(|| anyhow::anyhow!("{} did not see all {size} nodes within 30 s", node.ready.name))?;
        done = done.max(at);
    }
    Ok((done.saturating_sub(t0) as f64 / 1000.0, cluster))
}

fn idle_figures(cluster: &BenchCluster, out: &mut serde_json::Map<String, Value>) {
    let pids: Vec<u32> = cluster.nodes.iter().map(|n| n.pid()).collect();
    std::thread::sleep(Duration::from_secs(1)); // let start-up work finish before measuring idle
    let rss: Vec<f64> = pids
        .iter()
        .filter_map(|p| procfs::rss_kib(*p))
        .map(|k| k as f64 / 1024.0)
        .collect();
    let cpu = procfs::cpu_percent(&pids, Duration::from_secs(3));
    out.insert("idle_rss_mib".into(), json!(round2(median(&rss))));
    out.insert("idle_rss_max_mib".into(), json!(round2(max(&rss))));
    out.insert("idle_cpu_pct".into(), json!(round2(median(&cpu))));
}
