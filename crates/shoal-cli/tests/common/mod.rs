//! Helpers shared by the end-to-end test files (each test file is its own crate and uses
//! only some of them).

#![allow(dead_code, reason = "each test crate uses a different subset")]

use std::path::Path;

use serde_json::Value;
use shoal_node::actor::{COUNTER_FACTORY, ECHO_FACTORY, Pid};
use shoal_node::{Node, NodeName};
use shoal_testkit::{NodeProcess, TestCluster, http_get};

/// Whether `pid` runs (a reaped or zombie process has no `/proc/PID/exe` to read).
pub(crate) fn process_alive(pid: u32) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe")).is_ok()
}

/// Pids of live processes with an argument inside `dir` (every node of a `shoal cluster`
/// started there has: its `--ready-file`).
pub(crate) fn nodes_using(dir: &Path) -> Vec<u32> {
    let prefix = format!("{}/", dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            process_alive(*pid)
                && cmdline
                    .split(|b| *b == 0)
                    .any(|a| a.starts_with(prefix.as_bytes()))
        })
        .collect()
}

/// Names of the members `node` lists as alive (itself included), sorted; empty while its
/// HTTP API does not answer.
pub(crate) fn alive_members(node: &NodeProcess) -> Vec<String> {
    let Some(http) = node.ready.http else {
        return Vec::new();
    };
    let Ok((200, body)) = http_get(http, "/api/members") else {
        return Vec::new();
    };
    let members: Value = serde_json::from_str(&body).unwrap_or_default();
    let mut names: Vec<String> = members
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["state"] == "alive")
        .filter_map(|m| m["name"].as_str().map(String::from))
        .collect();
    names.sort();
    names
}

/// A cluster of `size` `shoal` processes, each with the role `worker` (children placed on
/// that role land on them only).
pub(crate) async fn worker_cluster(size: usize) -> TestCluster {
    TestCluster::builder()
        .size(size)
        .binary(env!("CARGO_BIN_EXE_shoal"))
        .roles(["worker"])
        .start()
        .await
        .unwrap()
}

/// A node of the test's own, in this process, named `name` and joining `cluster` through its
/// node `seed`. It has no role, so no `worker` child lands on it. Callers wait until it sees
/// the members they need.
pub(crate) async fn probe_node(cluster: &TestCluster, name: &str, seed: usize) -> Node {
    let seed = cluster.nodes()[seed].process().unwrap().ready.listen.to_string();
    Node::builder()
        .name(name)
        .cookie(cluster.cookie())
        .seeds([seed])
        .local_discovery(None)
        .start()
        .await
        .unwrap()
}

/// Process `i`'s HTTP API answer to `GET path`, if it answers 200 with JSON.
pub(crate) fn node_api(cluster: &TestCluster, i: usize, path: &str) -> Option<Value> {
    let http = cluster.nodes()[i].process()?.ready.http?;
    let (status, body) = http_get(http, path).ok()?;
    (status == 200).then(|| serde_json::from_str(&body).ok())?
}

/// Counter actors running on process `i` (from its actor list).
pub(crate) fn counters_on(cluster: &TestCluster, i: usize) -> Option<usize> {
    let actors = node_api(cluster, i, "/api/actors")?;
    Some(
        actors
            .as_array()?
            .iter()
            .filter(|a| a["name"] == COUNTER_FACTORY)
            .count(),
    )
}

/// An echo actor spawned from `probe` on node `node`, retried until the probe is linked to
/// it (at most 20 s).
pub(crate) async fn echo_on(probe: &Node, node: &str) -> Pid {
    let node = NodeName::new(node).unwrap();
    let timeout = std::time::Duration::from_secs(10);
    for _ in 0..2000 {
        if let Ok(pid) = probe
            .actors()
            .spawn_remote(&node, ECHO_FACTORY, &(), timeout)
            .await
        {
            return pid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no echo on {node}");
}

/// Runs `shoal ARGS... --state-dir DIR` (the state dir last: the CLI's top-level commands
/// take it as an option) with no admin token from the environment, so a command that needs
/// one reads the state dir's.
pub(crate) fn shoal_in(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(args)
        .arg("--state-dir")
        .arg(dir)
        .env_remove("SHOAL_ADMIN_TOKEN")
        .output()
        .unwrap()
}

/// A `shoal cluster` state dir that is stopped and removed however the test ends.
pub(crate) struct ClusterDir(pub(crate) std::path::PathBuf);

impl ClusterDir {
    /// A fresh state dir for test `name` of this process.
    pub(crate) fn new(name: &str) -> Self {
        Self(std::env::temp_dir().join(format!("shoal-{name}-test-{}", std::process::id())))
    }
}

impl Drop for ClusterDir {
    fn drop(&mut self) {
        let _ = shoal_in(&self.0, &["cluster", "stop"]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
