//! A second node started under a name a live member already has, across real processes: it is
//! refused with an error that names the fix, and the cluster (the first holder included) runs
//! on undisturbed: no renewal, no member replaced.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use shoal_testkit::{NodeProcess, http_get, wait_until};

const WAIT: Duration = Duration::from_secs(30);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_shoal"))
}

/// A fresh same-host discovery directory for one test.
fn local_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shoal-dup-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `name`'s creation in `observer`'s member list, once it is listed.
fn creation_seen_by(observer: &NodeProcess, name: &str) -> Option<u64> {
    let (_, body) = http_get(observer.ready.http?, "/api/members").ok()?;
    let members: Vec<Value> = serde_json::from_str(&body).ok()?;
    members.iter().find(|m| m["name"] == name)?["creation"].as_u64()
}

/// Every event line `node` printed so far.
fn events_so_far(node: &NodeProcess) -> Vec<Value> {
    let mut events = Vec::new();
    while let Some(e) = node.wait_event(|_| true, Duration::from_millis(1)) {
        events.push(e);
    }
    events
}

/// Checks that neither node renewed nor saw a member go down or come back as another life.
fn assert_undisturbed(nodes: &[&NodeProcess]) {
    for node in nodes {
        let events = events_so_far(node);
        let disturbed: Vec<&Value> = events
            .iter()
            .filter(|e| e["event"] == "renewed" || e["event"] == "node_down")
            .collect();
        assert!(
            disturbed.is_empty(),
            "{} was disturbed: {disturbed:?}",
            node.ready.name
        );
    }
}

#[test]
fn a_second_node_with_a_taken_name_on_the_same_host_does_not_start() {
    let dir = local_dir("local");
    let dir_arg = dir.to_str().unwrap();
    let cookie = format!("dup-local-{}", std::process::id());
    let args = [
        "--cookie",
        cookie.as_str(),
        "--discovery",
        "local",
        "--local-dir",
        dir_arg,
    ];
    let n1 = NodeProcess::spawn(bin(), "dupl-n1", &args).unwrap();
    let n2 = NodeProcess::spawn(bin(), "dupl-n2", &args).unwrap();
    let first = wait_until(WAIT, || creation_seen_by(&n2, "dupl-n1")).unwrap();

    let mut second = Command::new(bin())
        .args([
            "node",
            "--name",
            "dupl-n1",
            "--listen",
            "127.0.0.1:0",
            "--no-http",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_until(WAIT, || second.try_wait().unwrap());
    let Some(status) = status else {
        let _ = second.kill();
        panic!("the second dupl-n1 kept running");
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        !status.success(),
        "the second dupl-n1 exited with success: {stderr}"
    );
    assert!(
        stderr.contains("node name dupl-n1 is taken") && stderr.contains("unique --name"),
        "the error does not name the cause and the fix: {stderr}"
    );
    assert_eq!(
        creation_seen_by(&n2, "dupl-n1"),
        Some(first),
        "n2 lost the first dupl-n1"
    );
    assert_undisturbed(&[&n1, &n2]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_node_with_a_taken_name_is_refused_by_the_cluster_and_stops() {
    // Seeds only, as between hosts: the same-host check cannot see the first holder.
    let cookie = format!("dup-seeds-{}", std::process::id());
    let base = ["--cookie", cookie.as_str(), "--discovery", "static"];
    let n1 = NodeProcess::spawn(bin(), "dups-n1", &base).unwrap();
    let seed = n1.ready.listen.to_string();
    let joined: Vec<&str> = base.iter().copied().chain(["--seeds", seed.as_str()]).collect();
    let n2 = NodeProcess::spawn(bin(), "dups-n2", &joined).unwrap();
    let first = wait_until(WAIT, || creation_seen_by(&n2, "dups-n1")).unwrap();
    assert!(wait_until(WAIT, || creation_seen_by(&n1, "dups-n2")).is_some());

    let n2_seed = n2.ready.listen.to_string();
    let dup_args: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--seeds", n2_seed.as_str()])
        .collect();
    let mut second = NodeProcess::spawn(bin(), "dups-n1", &dup_args).unwrap();
    let code = second.wait_exit(WAIT);
    assert!(
        code.is_some(),
        "the second dups-n1 kept running:\n{}",
        second.log_text()
    );
    assert_ne!(code, Some(0), "the second dups-n1 exited with success");
    let log = second.log_text();
    assert!(
        log.contains("node name dups-n1 is taken") && log.contains("unique --name"),
        "the error does not name the cause and the fix:\n{log}"
    );
    assert_eq!(
        creation_seen_by(&n2, "dups-n1"),
        Some(first),
        "n2 replaced the first dups-n1"
    );
    assert_undisturbed(&[&n1, &n2]);
}
