//! Formation with `--netns`: `shoal cluster start --netns` of N nodes (each in its own
//! network namespace, found through seeds or a real DNS server), timed from the spawns to
//! the moment every node has seen every other.
//!
//! Two starting points, both reported: the first node's spawn, and the last node's (all are
//! spawned one after another without waiting for any, so the two differ by the spawn spread,
//! a few ms per node). The end is the latest, over the nodes, of the time (`at_us`, the node's
//! wall clock) of a node's `node_up` line for the last peer it had not seen yet, read from the
//! nodes' event files once the mesh is full.

use std::path::Path;

use serde_json::{Value, json};
use shoal_api::Line;

use super::{max, median, round2};
use crate::cluster::netns::{NetDiscovery, NetnsArgs};
use crate::cluster::start::{StartArgs, start_timed};
use crate::cluster::stop;

pub(crate) fn run(
    bin: &Path,
    trials: usize,
    size: usize,
    discovery: NetDiscovery,
    interval_ms: Option<u64>,
) -> anyhow::Result<Value> {
    let (mut from_first, mut from_all, mut spread) = (Vec::new(), Vec::new(), Vec::new());
    for trial in 1..=trials {
        let (first, all, done) = form(bin, size, discovery, interval_ms)?;
        let ms = |from: u64| done.saturating_sub(from) as f64 / 1000.0;
        eprintln!(
            "formation of {size} nodes in namespaces ({discovery:?}), trial {trial}: {:.1} ms from the first spawn, {:.1} ms from the last",
            ms(first),
            ms(all)
        );
        from_first.push(ms(first));
        from_all.push(ms(all));
        spread.push((all - first) as f64 / 1000.0);
    }
    let mut out = serde_json::Map::new();
    let key = |what: &str| format!("formation_{size}_{what}");
    out.insert(key("from_first_spawn_ms"), json!(round2(median(&from_first))));
    out.insert(key("from_first_spawn_max_ms"), json!(round2(max(&from_first))));
    out.insert(key("from_all_spawned_ms"), json!(round2(median(&from_all))));
    out.insert(key("from_all_spawned_max_ms"), json!(round2(max(&from_all))));
    out.insert("spawn_spread_ms".into(), json!(round2(median(&spread))));
    out.insert("discovery".into(), json!(discovery));
    // The interval of DNS lookups or multicast beacons (the node's default unless given);
    // seeds do not poll.
    let default_ms = shoal_node::DEFAULT_DISCOVERY_INTERVAL.as_millis() as u64;
    let interval = (discovery != NetDiscovery::Seeds).then_some(interval_ms.unwrap_or(default_ms));
    out.insert("discovery_interval_ms".into(), json!(interval));
    out.insert("nodes".into(), json!(size));
    out.insert("trials".into(), json!(trials));
    Ok(Value::Object(out))
}

/// One `cluster start --netns` in a fresh state directory, stopped afterwards: (first spawn,
/// last spawn, full mesh), µs since the Unix epoch.
fn form(
    bin: &Path,
    size: usize,
    discovery: NetDiscovery,
    interval_ms: Option<u64>,
) -> anyhow::Result<(u64, u64, u64)> {
    let dir = std::env::temp_dir().join(format!(
        "shoal-bench-netns-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir)?;
    let args = StartArgs {
        size,
        bin: Some(bin.to_path_buf()),
        base_port: None,
        reuse: false,
        demo: false,
        tls: false,
        net: NetnsArgs {
            netns: true,
            discovery: Some(discovery),
            discovery_interval_ms: interval_ms,
        },
    };
    let started = start_timed(&dir, &args);
    let done = started.as_ref().ok().map(|_| mesh_at(&dir, size));
    let stopped = stop::stop(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let (_, (first, all)) = started?;
    stopped?;
    Ok((first, all, done.transpose()?.unwrap_or(all)))
}

/// When the last node saw its last peer, from the nodes' event files.
fn mesh_at(dir: &Path, size: usize) -> anyhow::Result<u64> {
    let mut done = 0;
    for i in 1..=size {
        let path = dir.join("logs").join(format!("n{i}.events"));
        let text = std::fs::read_to_string(&path)?;
        let mut seen = std::collections::BTreeMap::new();
        for line in text.lines() {
            if let Ok(Line::NodeUp { node, at_us, .. }) = serde_json::from_str(line) {
                seen.entry(node).or_insert(at_us);
            }
        }
        anyhow::ensure!(
            seen.len() + 1 >= size,
            "n{i} printed node_up for {} peers of {}",
            seen.len(),
            size - 1
        );
        done = done.max(seen.values().copied().max().unwrap_or(0));
    }
    Ok(done)
}
