//! `shoal cluster start | status | stop` driven as a user would, in a private state directory.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use shoal_testkit::wait_until;

mod common;
use common::{nodes_using, process_alive};

/// Runs `shoal cluster --state-dir DIR ARGS...` (the state dir first, so that it never lands
/// after a `run -- CMD` separator).
fn shoal(state_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .arg("cluster")
        .arg("--state-dir")
        .arg(state_dir)
        .args(args)
        .output()
        .unwrap()
}

/// Stops whatever a failed test left running.
struct StopOnDrop(PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = shoal(&self.0, &["stop"]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn start_status_and_stop_a_three_node_cluster_leaving_no_process() {
    let dir = std::env::temp_dir().join(format!("shoal-cluster-test-{}", std::process::id()));
    let _guard = StopOnDrop(dir.clone());
    let out = shoal(&dir, &["start", "--size", "3", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pids: Vec<u32> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["pid"].as_u64().unwrap() as u32)
        .collect();
    assert_eq!(pids.len(), 3);
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "up" && r["members"] == 3),
        "{rows}"
    );

    assert!(shoal(&dir, &["status"]).status.success());
    let again = shoal(&dir, &["start"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already running"));
    let reused = shoal(&dir, &["start", "--reuse", "--json"]);
    assert!(
        reused.status.success(),
        "{}",
        String::from_utf8_lossy(&reused.stderr)
    );
    let reused_rows: Value = serde_json::from_slice(&reused.stdout).unwrap();
    assert_eq!(
        reused_rows[0]["pid"], rows[0]["pid"],
        "--reuse must not start new nodes"
    );

    kill(Pid::from_raw(pids[2] as i32), Signal::SIGKILL).unwrap();
    let degraded = wait_until(Duration::from_secs(20), || {
        (!shoal(&dir, &["status"]).status.success()).then_some(())
    });
    assert!(degraded.is_some(), "status must fail while a node is down");

    let stop = shoal(&dir, &["stop"]);
    assert!(stop.status.success(), "{}", String::from_utf8_lossy(&stop.stderr));
    for pid in pids {
        assert!(!process_alive(pid), "pid {pid} survived stop");
    }
    assert!(
        !shoal(&dir, &["status"]).status.success(),
        "no cluster after stop"
    );
}

#[test]
fn clean_after_an_interrupted_start_leaves_nothing_running() {
    let dir = std::env::temp_dir().join(format!("shoal-clean-test-{}", std::process::id()));
    let _guard = StopOnDrop(dir.clone());
    let mut start = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(["cluster", "start", "--size", "3", "--state-dir"])
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Interrupt `start` once it has recorded at least one node.
    let recorded = wait_until(Duration::from_secs(20), || {
        let state: Value = serde_json::from_slice(&std::fs::read(dir.join("cluster.json")).ok()?).ok()?;
        let pids: Vec<u32> = state["nodes"]
            .as_array()?
            .iter()
            .filter_map(|n| n["pid"].as_u64())
            .map(|p| p as u32)
            .collect();
        (!pids.is_empty()).then_some(pids)
    });
    start.kill().unwrap();
    let _ = start.wait();
    let recorded = recorded.expect("start recorded its nodes");
    // Every node started so far, recorded or not: their command lines name the state dir.
    // A recorded node may have exited already (start retries a node that exits before it is
    // ready, e.g. when another program took its port), so only live ones must be found.
    let started = nodes_using(&dir);
    assert!(
        !started.is_empty() && recorded.iter().all(|p| started.contains(p) || !process_alive(*p)),
        "{started:?} vs {recorded:?}"
    );
    let clean = shoal(&dir, &["clean"]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(!dir.exists(), "state directory removed");
    for pid in started {
        assert!(
            wait_until(Duration::from_secs(5), || (!process_alive(pid)).then_some(())).is_some(),
            "pid {pid} survived clean"
        );
    }
}

#[test]
fn logs_merge_every_node_with_a_name_prefix() {
    let dir = std::env::temp_dir().join(format!("shoal-logs-test-{}", std::process::id()));
    let _guard = StopOnDrop(dir.clone());
    assert!(shoal(&dir, &["start", "--size", "2"]).status.success());
    let logs = String::from_utf8(shoal(&dir, &["logs"]).stdout).unwrap();
    assert!(
        logs.lines()
            .any(|l| l.starts_with("n1   | ") && l.contains("node started")),
        "{logs}"
    );
    assert!(logs.lines().any(|l| l.starts_with("n2   | ")), "{logs}");
    let one = String::from_utf8(shoal(&dir, &["logs", "n2"]).stdout).unwrap();
    assert!(one.contains("name=n2") && !one.contains("n1   | "), "{one}");
}

#[test]
fn health_passes_on_a_full_mesh_and_fails_when_a_node_is_killed() {
    let dir = std::env::temp_dir().join(format!("shoal-health-test-{}", std::process::id()));
    let _guard = StopOnDrop(dir.clone());
    let out = shoal(&dir, &["start", "--size", "3", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let health = shoal(&dir, &["health", "--json"]);
    let report: Value = serde_json::from_slice(&health.stdout).unwrap();
    assert!(health.status.success() && report["healthy"] == true, "{report}");
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pid = rows[1]["pid"].as_u64().unwrap() as i32;
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    let failing = wait_until(Duration::from_secs(20), || {
        (!shoal(&dir, &["health"]).status.success()).then_some(())
    });
    assert!(failing.is_some(), "health must fail with a node down");
}

#[test]
fn run_passes_the_cluster_to_the_command_and_exits_with_its_status() {
    let dir = std::env::temp_dir().join(format!("shoal-run-test-{}", std::process::id()));
    let _guard = StopOnDrop(dir.clone());
    let script = r#"test -n "$SHOAL_COOKIE" && test "$SHOAL_NODES" = "n1,n2" && exit 7"#;
    let out = shoal(&dir, &["run", "--size", "2", "--", "sh", "-c", script]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !shoal(&dir, &["status"]).status.success(),
        "cluster stopped after run"
    );
    let ok = shoal(&dir, &["run", "--size", "2", "--", "true"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn a_busy_base_port_is_refused_before_any_node_starts() {
    let dir = std::env::temp_dir().join(format!("shoal-port-test-{}", std::process::id()));
    let _guard = StopOnDrop(dir.clone());
    // Hold a port; make it the HTTP port of n2 (base + 3) so the clash is not on the first one.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let Some(base) = port.checked_sub(3) else { return };
    let out = shoal(&dir, &["start", "--size", "3", "--base-port", &base.to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("--base-port"),
        "{stderr}"
    );
    let state = dir.join("cluster.json");
    assert!(!state.exists(), "no node was started");
}

/// (pid, creation) of each recorded node, from the state file.
fn lives(dir: &Path) -> Vec<(u64, u64)> {
    let state: Value = serde_json::from_slice(&std::fs::read(dir.join("cluster.json")).unwrap()).unwrap();
    state["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["pid"].as_u64().unwrap(), n["creation"].as_u64().unwrap()))
        .collect()
}

#[test]
fn restart_of_one_node_and_a_rolling_restart_bring_new_lives_and_keep_the_cluster_healthy() {
    let dir = std::env::temp_dir().join(format!("shoal-restart-test-{}", std::process::id()));
    let _guard = StopOnDrop(dir.clone());
    assert!(shoal(&dir, &["start", "--size", "3"]).status.success());
    let before = lives(&dir);
    let one = shoal(&dir, &["restart", "n2"]);
    assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
    let after_one = lives(&dir);
    assert_eq!(after_one[0], before[0]);
    assert!(
        after_one[1].0 != before[1].0 && after_one[1].1 > before[1].1,
        "{before:?} -> {after_one:?}"
    );
    assert!(!process_alive(before[1].0 as u32), "old n2 is gone");
    let rolling = shoal(&dir, &["restart", "--rolling"]);
    assert!(
        rolling.status.success(),
        "{}",
        String::from_utf8_lossy(&rolling.stderr)
    );
    let after_all = lives(&dir);
    assert!(
        after_all.iter().zip(&after_one).all(|(new, old)| new.1 > old.1),
        "{after_one:?} -> {after_all:?}"
    );
    assert!(shoal(&dir, &["health"]).status.success());
}

#[test]
fn partition_splits_the_cluster_heal_joins_it_and_pause_resume_kill_act_on_one_node() {
    let dir = std::env::temp_dir().join(format!("shoal-chaos-test-{}", std::process::id()));
    let _guard = StopOnDrop(dir.clone());
    let out = shoal(&dir, &["start", "--size", "3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let healthy = |dir: &Path| shoal(dir, &["health"]).status.success();
    let wait = Duration::from_secs(30);

    let cut = shoal(&dir, &["partition", "n1,n2", "/", "n3"]);
    assert!(cut.status.success(), "{}", String::from_utf8_lossy(&cut.stderr));
    let split = wait_until(wait, || {
        let health = shoal(&dir, &["health", "--json"]);
        let report: Value = serde_json::from_slice(&health.stdout).ok()?;
        let mesh = report["checks"]
            .as_array()?
            .iter()
            .find(|c| c["check"] == "full mesh")?
            .clone();
        (!health.status.success() && mesh["ok"] == false).then_some(mesh)
    });
    assert!(split.is_some(), "health never reported the split");
    let heal = shoal(&dir, &["heal"]);
    assert!(heal.status.success(), "{}", String::from_utf8_lossy(&heal.stderr));
    assert!(
        wait_until(wait, || healthy(&dir).then_some(())).is_some(),
        "no full mesh after heal"
    );

    assert!(shoal(&dir, &["pause", "n2"]).status.success());
    let paused = wait_until(wait, || {
        let status: Value = serde_json::from_slice(&shoal(&dir, &["status", "--json"]).stdout).ok()?;
        (status[1]["state"] == "paused").then_some(())
    });
    assert!(paused.is_some());
    assert!(shoal(&dir, &["resume", "n2"]).status.success());
    assert!(
        wait_until(wait, || healthy(&dir).then_some(())).is_some(),
        "n2 did not come back"
    );

    assert!(shoal(&dir, &["kill", "n3"]).status.success());
    let gone = wait_until(wait, || {
        let status: Value = serde_json::from_slice(&shoal(&dir, &["status", "--json"]).stdout).ok()?;
        (status[2]["state"] == "down").then_some(())
    });
    assert!(gone.is_some());
    let unknown = shoal(&dir, &["kill", "n9"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no node n9"));
}

#[test]
fn the_shell_runs_the_same_queries_and_keeps_history() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("shoal-shell-test-{}", std::process::id()));
    let _guard = StopOnDrop(dir.clone());
    assert!(shoal(&dir, &["start", "--size", "2"]).status.success());
    let mut shell = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(["cluster", "shell", "n1", "--state-dir"])
        .arg(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    shell
        .stdin
        .take()
        .unwrap()
        .write_all(b"members\ncluster health\nnode\nexit\n")
        .unwrap();
    let out = shell.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("VIEW OF") && stdout.contains("full mesh"),
        "{stdout}"
    );
    assert!(stderr.contains("do not run inside the shell"), "{stderr}");
    let history = std::fs::read_to_string(dir.join("shell_history")).unwrap();
    assert!(history.contains("cluster health"), "{history}");
}
