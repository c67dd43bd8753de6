//! `shoal cluster start --size 3 --bin embed`: the example forms a cluster, serves the HTTP
//! API with the cluster's admin token, and its actor is reachable by name from the CLI.
//!
//! The `shoal` binary is the one built next to `embed` (`cargo test --workspace` builds both;
//! alone, run `cargo build -p shoal-cli` first).

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use shoal_testkit::wait_until;

fn shoal_bin() -> PathBuf {
    let shoal = Path::new(env!("CARGO_BIN_EXE_embed")).with_file_name("shoal");
    assert!(
        shoal.exists(),
        "no {}: run `cargo build -p shoal-cli` first",
        shoal.display()
    );
    shoal
}

/// Runs `shoal ARGS... --state-dir DIR` (`cluster` and inspection commands both take it).
fn shoal(dir: &Path, args: &[&str]) -> Output {
    Command::new(shoal_bin())
        .args(args)
        .arg("--state-dir")
        .arg(dir)
        .output()
        .unwrap()
}

fn stdout_json(out: &Output) -> Value {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {err}"))
}

/// Whether n1's event lines hold `node_down` for `node` with reason `Left`.
fn left_seen_by_n1(dir: &Path, node: &str) -> bool {
    let events = std::fs::read_to_string(dir.join("logs/n1.events")).unwrap_or_default();
    events.lines().any(|line| {
        let event: Value = serde_json::from_str(line).unwrap_or_default();
        event["event"] == "node_down" && event["node"] == node && event["reason"] == "Left"
    })
}

/// Stops the cluster (and removes its state) however the test ends.
struct StopOnDrop(PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = shoal(&self.0, &["cluster", "stop"]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn three_embed_processes_form_a_cluster_and_serve_their_actor() {
    let dir = std::env::temp_dir().join(format!("shoal-embed-test-{}", std::process::id()));
    let _guard = StopOnDrop(dir.clone());
    let embed = env!("CARGO_BIN_EXE_embed");
    let rows = stdout_json(&shoal(
        &dir,
        &["cluster", "start", "--size", "3", "--bin", embed, "--json"],
    ));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows.iter().all(|r| r["state"] == "up" && r["members"] == 3),
        "{rows:?}"
    );
    let health = stdout_json(&shoal(&dir, &["cluster", "health", "--json"]));
    assert_eq!(health["healthy"], true, "{health}");

    // Every node's greeter, by its registered name, through that node's HTTP API.
    for node in ["n1", "n2", "n3"] {
        let name = format!("greeter.{node}");
        let greeted = wait_until(Duration::from_secs(20), || {
            let out = shoal(&dir, &["state", &name, "--json"]);
            let answer: Value = serde_json::from_slice(&out.stdout).ok()?;
            (answer["state"]["greeted"] == 1).then_some(answer)
        });
        assert!(greeted.is_some(), "no greeter.{node} with one greeting");
    }
    // A mutating endpoint answers to the cluster's admin token (SHOAL_ADMIN_TOKEN).
    let kill = shoal(&dir, &["kill", "greeter.n3"]);
    assert!(kill.status.success(), "{}", String::from_utf8_lossy(&kill.stderr));

    // SIGTERM makes a node leave gracefully: its peers see reason Left, in their event lines.
    let restart = shoal(&dir, &["cluster", "restart", "n3"]);
    assert!(
        restart.status.success(),
        "{}",
        String::from_utf8_lossy(&restart.stderr)
    );
    let left = wait_until(Duration::from_secs(20), || {
        left_seen_by_n1(&dir, "n3").then_some(())
    });
    assert!(left.is_some(), "n1 saw no graceful leave of n3");

    let status = stdout_json(&shoal(&dir, &["cluster", "status", "--json"]));
    let pids: Vec<i32> = status
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["pid"].as_i64().unwrap() as i32)
        .collect();
    assert_eq!(pids.len(), 3, "{status}");
    let stop = shoal(&dir, &["cluster", "stop"]);
    assert!(stop.status.success(), "{}", String::from_utf8_lossy(&stop.stderr));
    for pid in pids {
        // A reaped or zombie process has no executable to read.
        let alive = std::fs::read_link(format!("/proc/{pid}/exe")).is_ok();
        assert!(!alive, "pid {pid} survived stop");
    }
}
