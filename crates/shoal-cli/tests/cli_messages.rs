//! Messages that name the cause and the next step (issue 18, item 5), on real node processes:
//! `health` with a killed node names it once, with the command that brings it back (and that
//! command works); `cluster stop` with nothing running succeeds; `shoal members` outside a
//! cluster directory points to `--connect`; a command whose reader has gone ends without a
//! panic.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use shoal_testkit::wait_until;

/// Runs `shoal cluster --state-dir DIR ARGS...`.
fn cluster(state_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .arg("cluster")
        .arg("--state-dir")
        .arg(state_dir)
        .args(args)
        .env_remove("SHOAL_STATE_DIR")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh state directory under the temp dir, stopped and removed on drop.
struct StateDir(PathBuf);

impl StateDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("shoal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = cluster(&self.0, &["stop"]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn health_names_a_killed_node_once_as_the_cause_with_the_command_that_brings_it_back() {
    let dir = StateDir::new("cause-test");
    let start = cluster(&dir.0, &["start", "--size", "3", "--demo"]);
    assert!(start.status.success(), "{}", text(&start.stderr));
    let restart = format!("`shoal cluster restart n2 --state-dir {}`", dir.0.display());
    assert_quiet_when_the_reader_leaves(&dir.0);

    let kill = cluster(&dir.0, &["kill", "n2"]);
    assert!(kill.status.success(), "{}", text(&kill.stderr));
    assert!(text(&kill.stdout).contains(&restart), "{}", text(&kill.stdout));

    // The survivors' views and child tables settle within milliseconds of the crash; until
    // then a second check may still fail. Once settled, n2 is the one and only failure.
    let mut last = String::new();
    let one_cause = wait_until(Duration::from_secs(30), || {
        let health = cluster(&dir.0, &["health"]);
        last = format!("{}{}", text(&health.stdout), text(&health.stderr));
        let fails: Vec<String> = text(&health.stdout)
            .lines()
            .filter(|l| l.starts_with("FAIL"))
            .map(str::to_owned)
            .collect();
        (!health.status.success() && fails.len() == 1).then_some(fails)
    });
    let fails = one_cause.unwrap_or_else(|| panic!("not one failing check with n2 killed:\n{last}"));
    assert!(
        fails[0].starts_with("FAIL nodes up")
            && fails[0].contains("n2 is down")
            && fails[0].contains(&restart),
        "{last}"
    );
    assert_eq!(
        last.matches("n2 is down").count(),
        1,
        "the cause is said once:\n{last}"
    );

    let report: Value = serde_json::from_slice(&cluster(&dir.0, &["health", "--json"]).stdout).unwrap();
    assert_eq!(report["causes"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["causes"][0]["node"], "n2", "{report}");

    let status = cluster(&dir.0, &["status"]);
    assert!(!status.status.success());
    assert!(
        text(&status.stderr).contains(&restart),
        "{}",
        text(&status.stderr)
    );
    assert!(
        !text(&status.stderr).contains("see `shoal cluster status`"),
        "status points to itself: {}",
        text(&status.stderr)
    );
    let n2_row = text(&status.stdout)
        .lines()
        .find(|l| l.starts_with("n2 "))
        .map(str::to_owned);
    assert!(
        n2_row.as_deref().is_some_and(|r| r.ends_with(" -")),
        "a down node's uptime is `-`: {n2_row:?}"
    );

    let members = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .arg("members")
        .arg("--state-dir")
        .arg(&dir.0)
        .output()
        .unwrap();
    assert!(!members.status.success());
    let said = text(&members.stderr);
    assert!(
        said.contains("n2: down (pid") && said.contains(&restart),
        "{said}"
    );

    // The suggested command, as printed, brings the cluster back.
    let suggested = restart.trim_matches('`');
    let args: Vec<&str> = suggested.split(' ').skip(1).collect();
    let run = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(&args)
        .output()
        .unwrap();
    assert!(run.status.success(), "{suggested}: {}", text(&run.stderr));
    let health = cluster(&dir.0, &["health"]);
    assert!(health.status.success(), "{}", text(&health.stdout));
}

/// `shoal ps | head -1`: the reader closes the pipe before `ps` prints its table; `ps` stops
/// printing without a panic and without an error message.
fn assert_quiet_when_the_reader_leaves(dir: &Path) {
    let mut ps = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .arg("ps")
        .arg("--state-dir")
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(ps.stdout.take());
    let out = ps.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn stop_with_nothing_running_says_so_and_succeeds() {
    let dir = StateDir::new("stop-nothing-test");
    let stop = cluster(&dir.0, &["stop"]);
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    assert!(
        text(&stop.stdout).contains("no cluster is running")
            && text(&stop.stdout).contains("nothing to stop"),
        "{}",
        text(&stop.stdout)
    );
    let json = cluster(&dir.0, &["stop", "--json"]);
    assert!(json.status.success());
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["stopped"], 0, "{report}");
}

#[test]
fn members_outside_a_cluster_directory_points_to_connect() {
    let dir = StateDir::new("no-cluster-cwd-test");
    std::fs::create_dir_all(&dir.0).unwrap();
    let members = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .arg("members")
        .current_dir(&dir.0)
        .env_remove("SHOAL_STATE_DIR")
        .output()
        .unwrap();
    assert!(!members.status.success());
    assert!(
        text(&members.stderr).contains("--connect HOST:PORT"),
        "{}",
        text(&members.stderr)
    );
}

#[test]
fn a_command_whose_reader_has_gone_finishes_without_a_panic() {
    let dir = StateDir::new("closed-reader-test");
    std::fs::create_dir_all(&dir.0).unwrap();
    let history = dir.0.join("history.json");
    let empty = shoal_testkit::chaos::History::default();
    std::fs::write(&history, serde_json::to_vec(&empty).unwrap()).unwrap();
    let check = |stdout: std::process::Stdio| {
        Command::new(env!("CARGO_BIN_EXE_shoal"))
            .args(["chaos", "check", "--json"])
            .arg(&history)
            .stdout(stdout)
            .output()
            .unwrap()
    };
    let read = check(std::process::Stdio::piped());
    assert!(!read.stdout.is_empty());
    // The reader is gone before the command writes anything: every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let closed = check(writer.into());
    assert!(closed.stderr.is_empty(), "{}", text(&closed.stderr));
    assert_eq!(closed.status.code(), read.status.code());
}
