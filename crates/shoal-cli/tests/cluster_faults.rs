//! `shoal cluster` commands under real faults: renewed nodes, a down node, handoffs in
//! flight, a `start` killed with SIGKILL, `run` interrupted, restarts and their logs. Each
//! test drives the real binary in a private state directory.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use shoal_testkit::{http_get, wait_until};

mod common;
use common::{nodes_using, process_alive};

const WAIT: Duration = Duration::from_secs(30);

/// Runs `shoal cluster --state-dir DIR ARGS...`.
fn shoal(state_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .arg("cluster")
        .arg("--state-dir")
        .arg(state_dir)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh state directory, stopped and removed when the test ends, however it ends.
struct StateDir(PathBuf);

impl StateDir {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("shoal-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = shoal(&self.0, &["clean"]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The recorded nodes of `cluster.json`.
fn records(dir: &Path) -> Vec<Value> {
    let state: Value = serde_json::from_slice(&std::fs::read(dir.join("cluster.json")).unwrap()).unwrap();
    state["nodes"].as_array().unwrap().clone()
}

/// `GET path` on recorded node `i`, as JSON.
fn get(dir: &Path, i: usize, path: &str) -> Option<Value> {
    let http = records(dir)[i]["http"].as_str()?.parse().ok()?;
    let (status, body) = http_get(http, path).ok()?;
    (status == 200).then(|| serde_json::from_str(&body).ok())?
}

#[test]
fn restart_works_after_a_node_renewed_and_names_the_node_that_is_down() {
    let dir = StateDir::new("renewed");
    let dir = &dir.0;
    assert!(shoal(dir, &["start", "--size", "3"]).status.success());
    let n2_life = |dir: &Path| get(dir, 1, "/api/node").and_then(|n| n["creation"].as_u64());
    let first = n2_life(dir).unwrap();
    // Paused long enough to be declared down, n2 comes back as a new life of the same process.
    assert!(shoal(dir, &["pause", "n2"]).status.success());
    let declared_down = wait_until(WAIT, || {
        let members = get(dir, 0, "/api/members")?;
        let seen = members.as_array()?.iter().any(|m| m["name"] == "n2");
        (!seen).then_some(())
    });
    assert!(shoal(dir, &["resume", "n2"]).status.success());
    assert!(declared_down.is_some(), "n1 never declared the paused n2 down");
    let renewed = wait_until(WAIT, || n2_life(dir).filter(|c| *c > first));
    assert!(renewed.is_some(), "n2 did not renew");

    let one = shoal(dir, &["restart", "n1"]);
    assert!(one.status.success(), "{}", stderr(&one));
    let rolling = shoal(dir, &["restart", "--rolling"]);
    assert!(rolling.status.success(), "{}", stderr(&rolling));
    assert!(shoal(dir, &["health"]).status.success());

    let n3 = records(dir)[2]["pid"].as_u64().unwrap() as u32;
    assert!(shoal(dir, &["kill", "n3"]).status.success());
    assert!(wait_until(WAIT, || (!process_alive(n3)).then_some(())).is_some());
    let refused = shoal(dir, &["restart", "n2"]);
    let text = stderr(&refused);
    let first = text.lines().next().unwrap_or_default();
    assert!(!refused.status.success());
    assert!(first.contains("n3 (pid") && !first.contains("n1"), "{text}");
}

/// The count of every demo counter, by child id, read by value from the actor's state on
/// its owner (`GET /api/actors/{pid}/state`), as n1's supervisor table places it.
fn counts(dir: &Path) -> BTreeMap<String, u64> {
    let body = get(dir, 0, "/api/supervisor").unwrap();
    let mut counts = BTreeMap::new();
    for c in body["children"].as_array().unwrap() {
        let (Some(id), Some(local), Some(node)) = (
            c["id"].as_str(),
            c["pid"]["id"].as_u64(),
            c["pid"]["node"]["name"].as_str(),
        ) else {
            continue;
        };
        let Some(i) = node.strip_prefix('n').and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        let state = get(dir, i - 1, &format!("/api/actors/{local}/state"));
        if let Some(count) = state.and_then(|s| s["state"]["count"].as_u64()) {
            counts.insert(id.to_owned(), count);
        }
    }
    counts
}

/// Every node's view of the supervisor's children: (id, owner, moving, running, state kept).
fn children(dir: &Path, i: usize) -> Vec<(String, String, bool, bool, bool)> {
    let body = get(dir, i, "/api/supervisor").unwrap();
    let mut children: Vec<_> = body["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["owner"].as_str().unwrap().to_owned(),
                c["moving"] == true,
                !c["pid"].is_null(),
                c["state_kept"] == true,
            )
        })
        .collect();
    children.sort();
    children
}

#[test]
fn a_rolling_restart_of_the_demo_returns_with_every_child_running_in_place_with_its_state() {
    let dir = StateDir::new("rolling-demo");
    let dir = &dir.0;
    assert!(shoal(dir, &["start", "--size", "3", "--demo"]).status.success());
    let seeded = wait_until(WAIT, || {
        let all = (0..3).map(|i| children(dir, i)).collect::<Vec<_>>();
        (all.iter().all(|c| c.len() == 24 && c.iter().all(|c| c.3)) && all.windows(2).all(|w| w[0] == w[1]))
            .then_some(())
    });
    assert!(seeded.is_some(), "the demo never started its 24 counters");

    let before = counts(dir);
    assert_eq!(before.len(), 24, "counts read before: {before:?}");
    let rolling = shoal(dir, &["restart", "--rolling"]);
    assert!(rolling.status.success(), "{}", stderr(&rolling));
    // By value: a count only grows while the state is kept (a new instance from the spec
    // starts at 0), whatever `state_kept` says.
    let after = counts(dir);
    for (id, count) in &before {
        assert!(
            after.get(id).is_some_and(|a| a >= count),
            "{id}: count {count} before the rolling restart, {:?} after",
            after.get(id)
        );
    }
    // Looked at once, right away: restart must not return while children move.
    let views: Vec<_> = (0..3).map(|i| children(dir, i)).collect();
    let live: BTreeSet<&str> = ["n1", "n2", "n3"].into();
    for (i, view) in views.iter().enumerate() {
        assert_eq!(view.len(), 24, "n{}: {view:?}", i + 1);
        for (id, owner, moving, running, kept) in view {
            assert!(
                live.contains(owner.as_str()) && !moving && *running,
                "n{}: {id} {owner}",
                i + 1
            );
            let logs: Vec<String> = ["n1", "n2", "n3"]
                .iter()
                .flat_map(|n| log_lines(dir, &format!("{n}.log")))
                .filter(|l| l.contains(id.as_str()) || l.starts_with("---"))
                .collect();
            assert!(kept, "{id} lost its count: {}\n{logs:#?}", stderr(&rolling));
        }
    }
    assert!(views.windows(2).all(|w| w[0] == w[1]), "{views:?}");
}

#[test]
fn stop_stops_the_nodes_a_killed_start_had_not_recorded() {
    let dir = StateDir::new("killed-start");
    let dir = &dir.0;
    let mut start = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(["cluster", "start", "--size", "3", "--state-dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed as soon as its first node exists, often before it has recorded that node.
    let spawned = wait_until(WAIT, || (!nodes_using(dir).is_empty()).then_some(()));
    start.kill().unwrap();
    let _ = start.wait();
    assert!(spawned.is_some());
    let nodes = nodes_using(dir);
    let stop = shoal(dir, &["stop"]);
    assert!(stop.status.success(), "{}", stderr(&stop));
    let left: Vec<u32> = nodes.into_iter().filter(|p| process_alive(*p)).collect();
    assert!(left.is_empty(), "{left:?} survived stop");

    // The same window, made certain: n2 runs but its record is gone.
    assert!(shoal(dir, &["start", "--size", "2"]).status.success());
    let n2 = records(dir)[1]["pid"].as_u64().unwrap() as u32;
    let mut state: Value = serde_json::from_slice(&std::fs::read(dir.join("cluster.json")).unwrap()).unwrap();
    state["nodes"].as_array_mut().unwrap().truncate(1);
    std::fs::write(dir.join("cluster.json"), state.to_string()).unwrap();
    let stop = shoal(dir, &["stop"]);
    assert!(stop.status.success(), "{}", stderr(&stop));
    assert!(!process_alive(n2), "the unrecorded n2 survived stop");
}

/// The pid of the child of `parent` whose command name is `comm`.
fn child_named(parent: u32, comm: &str) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let Some((name, rest)) = stat.split_once(") ") else {
                return false;
            };
            let ppid = rest.split(' ').nth(1).and_then(|p| p.parse::<u32>().ok());
            name.ends_with(&format!("({comm}")) && ppid == Some(parent)
        })
}

#[test]
fn sigterm_or_sigint_to_run_ends_the_command_and_the_nodes_with_the_shell_status() {
    for (signal, code) in [(Signal::SIGTERM, 143), (Signal::SIGINT, 130)] {
        let dir = StateDir::new(&format!("run-{}", signal.as_str()));
        let dir = &dir.0;
        let mut run = Command::new(env!("CARGO_BIN_EXE_shoal"))
            .arg("cluster")
            .arg("--state-dir")
            .arg(dir)
            .args(["run", "--size", "2", "--", "sleep", "600"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sleep = wait_until(WAIT, || child_named(run.id(), "sleep"));
        let nodes: Vec<u32> = records(dir)
            .iter()
            .map(|n| n["pid"].as_u64().unwrap() as u32)
            .collect();
        kill(Pid::from_raw(run.id() as i32), signal).unwrap();
        let status = run.wait().unwrap();
        let sleep = sleep.expect("run started its command");
        assert_eq!(status.code(), Some(code), "{signal}: {status:?}");
        assert!(!process_alive(sleep), "{signal}: the command survived");
        let left: Vec<u32> = nodes.into_iter().filter(|p| process_alive(*p)).collect();
        assert!(left.is_empty(), "{signal}: nodes {left:?} survived");
    }
}

/// The lines of `logs/FILE`.
fn log_lines(dir: &Path, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("logs").join(file)).unwrap_or_default();
    text.lines().map(str::to_owned).collect()
}

#[test]
fn a_restart_appends_to_the_node_logs_and_a_new_start_rotates_them() {
    let dir = StateDir::new("restart-logs");
    let dir = &dir.0;
    assert!(shoal(dir, &["start", "--size", "2"]).status.success());
    let first_life = log_lines(dir, "n2.log");
    assert!(shoal(dir, &["restart", "n2"]).status.success());
    let log = log_lines(dir, "n2.log");
    assert_eq!(
        log[..first_life.len()],
        first_life[..],
        "the first life's log was lost"
    );
    let marks = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.starts_with("--- ") && l.ends_with("n2: new process ---"))
            .count()
    };
    assert_eq!(marks(&log), 2, "{log:?}");
    let events = log_lines(dir, "n2.events");
    let ready: Vec<Value> = events
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "ready")
        .collect();
    assert_eq!(ready.len(), 2, "{events:?}");
    assert_ne!(ready[0]["pid"], ready[1]["pid"]);

    // A fresh start moves the earlier cluster's files to `.1` and begins new ones.
    assert!(shoal(dir, &["stop"]).status.success());
    let again = shoal(dir, &["start", "--size", "2"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let rotated = log_lines(dir, "n2.log.1");
    assert_eq!(rotated[..log.len()], log[..]);
    assert_eq!(marks(&log_lines(dir, "n2.log")), 1);
    assert_eq!(log_lines(dir, "n2.events.1")[..events.len()], events[..]);
}

/// The peers recorded node `i` is partitioned from (`/api/chaos`); `None` while it does not
/// answer.
fn cut_from(dir: &Path, i: usize) -> Option<Vec<String>> {
    let chaos = get(dir, i, "/api/chaos")?;
    let peers = chaos["partitioned_from"].as_array()?;
    Some(
        peers
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect(),
    )
}

#[test]
fn a_partition_with_a_paused_node_is_applied_by_the_others_and_never_later_by_the_paused_one() {
    let dir = StateDir::new("paused-partition");
    let dir = &dir.0;
    assert!(shoal(dir, &["start", "--size", "3"]).status.success());
    assert!(shoal(dir, &["pause", "n3"]).status.success());
    // The paused node first: the command used to give up there and apply nothing at all.
    let cut = shoal(dir, &["partition", "n3", "/", "n1,n2"]);
    assert!(cut.status.success(), "{}", stderr(&cut));
    assert!(
        stderr(&cut).contains("n3 did not apply its part"),
        "{}",
        stderr(&cut)
    );
    for i in 0..2 {
        assert_eq!(cut_from(dir, i), Some(vec!["n3".to_owned()]), "node {i}");
    }
    // On resume n3 handles the request that waited in its socket: too late, it refuses it.
    assert!(shoal(dir, &["resume", "n3"]).status.success());
    let handled = wait_until(WAIT, || {
        let refused = log_lines(dir, "n3.log")
            .iter()
            .any(|l| l.contains("partition request arrived after its deadline"));
        let applied = cut_from(dir, 2).is_some_and(|peers| !peers.is_empty());
        (refused || applied).then_some(())
    });
    assert!(
        handled.is_some(),
        "n3 never handled the late request; its log:\n{}",
        log_lines(dir, "n3.log").join("\n")
    );
    assert_eq!(cut_from(dir, 2), Some(Vec::new()), "n3 applied a late partition");

    // A heal with n3 paused heals the others and names n3.
    assert!(shoal(dir, &["pause", "n3"]).status.success());
    let heal = shoal(dir, &["heal"]);
    assert!(!heal.status.success(), "n3 did not answer, so heal must fail");
    assert!(stderr(&heal).contains("n3:"), "{}", stderr(&heal));
    for i in 0..2 {
        assert_eq!(cut_from(dir, i), Some(Vec::new()), "node {i}");
    }
    assert!(shoal(dir, &["resume", "n3"]).status.success());
    let healthy = wait_until(WAIT, || shoal(dir, &["health"]).status.success().then_some(()));
    assert!(healthy.is_some(), "no full mesh after the heal and resume");
}

/// The actor (`<id>@<node>`) holding `demo.clock` in node `i`'s registry.
fn clock_holder(dir: &Path, i: usize) -> Option<String> {
    let names = get(dir, i, "/api/registry")?;
    let entry = names.as_array()?.iter().find(|e| e["name"] == "demo.clock")?;
    entry["pid_text"].as_str().map(str::to_owned)
}

/// Whether node `i` lists actor `pid` (`<id>@<node>`); `None` while it does not answer.
fn lists(dir: &Path, i: usize, pid: &str) -> Option<bool> {
    let actors = get(dir, i, "/api/actors")?;
    Some(actors.as_array()?.iter().any(|a| a["pid_text"] == pid))
}

#[test]
fn a_singleton_holder_paused_until_replaced_stops_its_instance_before_it_acts_on_resume() {
    let dir = StateDir::new("paused-singleton");
    let dir = &dir.0;
    assert!(shoal(dir, &["start", "--size", "3", "--demo"]).status.success());
    let old = wait_until(WAIT, || clock_holder(dir, 0)).expect("no demo.clock");
    let node = old.split_once('@').unwrap().1.to_owned();
    let held = node[1..].parse::<usize>().unwrap() - 1;
    let other = (held + 1) % 3;
    assert_eq!(lists(dir, held, &old), Some(true));
    // Paused until the others have started a clock of their own.
    assert!(shoal(dir, &["pause", &node]).status.success());
    let replaced = wait_until(WAIT, || clock_holder(dir, other).filter(|p| *p != old));
    assert!(shoal(dir, &["resume", &node]).status.success());
    assert!(
        replaced.is_some(),
        "the others never started a clock of their own"
    );
    // From its first answer on, the resumed node never shows its old instance: it stopped
    // before it acted (before this fence, it ran on and the registry stopped the new one).
    let mut listed = 0;
    let agreed = wait_until(WAIT, || {
        listed += usize::from(lists(dir, held, &old) == Some(true));
        let first = clock_holder(dir, 0)?;
        (1..3)
            .all(|i| clock_holder(dir, i).as_deref() == Some(first.as_str()))
            .then_some(first)
    });
    assert_eq!(listed, 0, "the resumed node still showed its old clock {old}");
    let now = agreed.expect("the nodes never agreed on one clock");
    assert_ne!(now, old, "the old clock came back");
}
