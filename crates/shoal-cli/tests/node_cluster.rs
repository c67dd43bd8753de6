//! End-to-end: real `shoal node` processes on 127.0.0.1 with OS-assigned ports. Every wait is
//! on a condition with a generous deadline; no test asserts on timing.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;
use shoal_testkit::{NodeProcess, http_get, wait_until};

mod common;
use common::alive_members;

const WAIT: Duration = Duration::from_secs(20);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_shoal"))
}

fn cookie(test: &str) -> String {
    format!(
        "{test}-{}-{:x}",
        std::process::id(),
        std::time::SystemTime::now().elapsed().map_or(0, |d| d.as_nanos())
    )
}

fn start(name: &str, cookie: &str, seeds: &[&NodeProcess]) -> NodeProcess {
    let seeds: Vec<String> = seeds.iter().map(|n| n.ready.listen.to_string()).collect();
    let seeds = seeds.join(",");
    let mut args = vec!["--cookie", cookie, "--discovery", "static"];
    if !seeds.is_empty() {
        args.extend(["--seeds", &seeds]);
    }
    NodeProcess::spawn(bin(), name, &args).unwrap()
}

fn api(node: &NodeProcess, path: &str) -> Option<Value> {
    let (status, body) = http_get(node.ready.http?, path).ok()?;
    (status == 200).then(|| serde_json::from_str(&body).ok())?
}

fn wait_all_see(nodes: &[&NodeProcess], expected: &[&str]) {
    for node in nodes {
        let seen = wait_until(WAIT, || (alive_members(node) == expected).then_some(()));
        assert!(
            seen.is_some(),
            "{} sees {:?}, want {expected:?}",
            node.ready.name,
            alive_members(node)
        );
    }
}

fn wait_down(node: &NodeProcess, name: &str) -> Value {
    node.wait_event(|e| e["event"] == "node_down" && e["node"] == name, WAIT)
        .unwrap_or_else(|| {
            panic!(
                "{} never reported {name} down; log:\n{}",
                node.ready.name,
                node.log_text()
            )
        })
}

#[test]
fn three_nodes_joined_through_a_seed_list_each_other_alive() {
    let c = cookie("three");
    let n1 = start("n1", &c, &[]);
    let n2 = start("n2", &c, &[&n1]);
    let n3 = start("n3", &c, &[&n1]);
    wait_all_see(&[&n1, &n2, &n3], &["n1", "n2", "n3"]);
    let node = api(&n2, "/api/node").unwrap();
    assert_eq!(node["name"], "n2");
    assert_eq!(node["creation"], n2.ready.creation);
    assert_eq!(api(&n3, "/health").unwrap()["status"], "ok");
}

#[test]
fn killed_node_is_down_everywhere_and_its_restart_is_listed_once_with_a_new_creation() {
    let c = cookie("kill");
    let n1 = start("n1", &c, &[]);
    let n2 = start("n2", &c, &[&n1]);
    let n3 = start("n3", &c, &[&n1]);
    wait_all_see(&[&n1, &n2, &n3], &["n1", "n2", "n3"]);
    let old_creation = n3.ready.creation;
    n3.signal(Signal::SIGKILL).unwrap();
    for node in [&n1, &n2] {
        let down = wait_down(node, "n3");
        // `Crashed` when this node's own re-dial was refused first, `Failed` when a peer's
        // gossip of the down came first.
        assert!(
            down["reason"] == "Crashed" || down["reason"] == "Failed",
            "{down}"
        );
        assert_eq!(down["creation"], old_creation);
    }
    drop(n3);
    let n3 = start("n3", &c, &[&n1]);
    assert!(n3.ready.creation > old_creation);
    wait_all_see(&[&n1, &n2, &n3], &["n1", "n2", "n3"]);
    let members = api(&n1, "/api/members").unwrap();
    let n3_entries: Vec<&Value> = members
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["name"] == "n3")
        .collect();
    assert_eq!(n3_entries.len(), 1, "{members}");
    assert_eq!(n3_entries[0]["creation"], n3.ready.creation);
}

#[test]
fn sigterm_leaves_gracefully_with_reason_left() {
    let c = cookie("leave");
    let n1 = start("n1", &c, &[]);
    let n2 = start("n2", &c, &[&n1]);
    let mut n3 = start("n3", &c, &[&n1]);
    wait_all_see(&[&n1, &n2, &n3], &["n1", "n2", "n3"]);
    n3.signal(Signal::SIGTERM).unwrap();
    for node in [&n1, &n2] {
        assert_eq!(wait_down(node, "n3")["reason"], "Left");
    }
    assert_eq!(n3.wait_exit(WAIT), Some(0), "log:\n{}", n3.log_text());
    wait_all_see(&[&n1, &n2], &["n1", "n2"]);
}

#[test]
fn a_node_whose_stdin_closes_leaves_with_reason_left_and_exits() {
    let c = cookie("stdin");
    let n1 = start("n1", &c, &[]);
    let mut n2 = start("n2", &c, &[&n1]);
    wait_all_see(&[&n1, &n2], &["n1", "n2"]);
    n2.close_stdin();
    assert_eq!(wait_down(&n1, "n2")["reason"], "Left");
    assert_eq!(n2.wait_exit(WAIT), Some(0), "log:\n{}", n2.log_text());
    assert!(
        n2.log_text().contains("the launcher is gone"),
        "log:\n{}",
        n2.log_text()
    );
}

/// Not a test on its own: the launcher process of the tests below. It starts a node through
/// the test kit, freezes it (SIGSTOP) if `SHOAL_TEST_PAUSE_NODE` is set, prints the node's
/// pid and waits to be killed.
#[test]
#[ignore = "run by killed_launchers_take_their_nodes_with_them"]
fn launcher_that_waits_to_be_killed() {
    let node = start("orphan", &cookie("orphan"), &[]);
    if std::env::var_os("SHOAL_TEST_PAUSE_NODE").is_some() {
        node.signal(Signal::SIGSTOP).unwrap();
    }
    println!("NODE_PID {}", node.pid());
    loop {
        std::thread::park();
    }
}

/// Runs the launcher above (with its node frozen if `paused`), SIGKILLs it, and waits until
/// its node is gone. SIGKILL runs no destructor, so only the closed stdin pipe (and, for a
/// frozen node, the kernel's SIGCONT on the launcher's death) can stop the node.
fn kill_launcher_and_wait_for_its_node(paused: bool) {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "launcher_that_waits_to_be_killed",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env_remove("SHOAL_TEST_PAUSE_NODE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped());
    if paused {
        command.env("SHOAL_TEST_PAUSE_NODE", "1");
    }
    let mut launcher = command.spawn().unwrap();
    let stdout = std::io::BufReader::new(launcher.stdout.take().unwrap());
    let pid = std::io::BufRead::lines(stdout)
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("NODE_PID ").map(str::to_string))
        .expect("the launcher printed no node pid");
    let proc_stat = format!("/proc/{pid}/stat");
    let state = || {
        let stat = std::fs::read_to_string(&proc_stat).unwrap_or_default();
        stat.rsplit(") ").next().and_then(|rest| rest.chars().next())
    };
    if paused {
        let frozen = wait_until(WAIT, || (state() == Some('T')).then_some(()));
        assert!(
            frozen.is_some(),
            "the launcher did not freeze its node: {:?}",
            state()
        );
    }
    launcher.kill().unwrap();
    launcher.wait().unwrap();
    // Gone, or a zombie its new parent has not reaped yet.
    let gone = wait_until(WAIT, || matches!(state(), None | Some('Z')).then_some(()));
    if gone.is_none() {
        let pid = nix::unistd::Pid::from_raw(pid.parse().unwrap());
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        panic!("node {pid} (state {:?}) outlived its killed launcher", state());
    }
}

#[test]
fn killed_launchers_take_their_nodes_with_them() {
    kill_launcher_and_wait_for_its_node(false);
}

#[test]
fn killed_launchers_take_their_frozen_nodes_with_them() {
    kill_launcher_and_wait_for_its_node(true);
}

#[test]
fn node_with_another_cookie_never_becomes_a_member_and_both_logs_say_why() {
    let c = cookie("cookie");
    let n1 = start("n1", &c, &[]);
    let n2 = start("n2", &c, &[&n1]);
    let intruder = start("intruder", "not-the-cookie", &[&n1]);
    let said = wait_until(WAIT, || {
        (n1.log_text().contains("different cookie") && intruder.log_text().contains("different cookie"))
            .then_some(())
    });
    assert!(
        said.is_some(),
        "n1 log:\n{}\nintruder log:\n{}",
        n1.log_text(),
        intruder.log_text()
    );
    wait_all_see(&[&n1, &n2], &["n1", "n2"]);
    assert_eq!(alive_members(&intruder), ["intruder"]);
    assert!(api(&n1, "/api/node").unwrap()["stats"]["handshake_failures"].as_u64() > Some(0));
}

#[test]
fn garbage_and_oversized_input_is_dropped_and_counted_and_the_node_keeps_serving() {
    let c = cookie("garbage");
    let n1 = start("n1", &c, &[]);
    let n2 = start("n2", &c, &[&n1]);
    wait_all_see(&[&n1, &n2], &["n1", "n2"]);
    let target: SocketAddr = n1.ready.listen;
    // A length prefix far over the frame limit, then random bytes as a "frame".
    let mut huge = TcpStream::connect(target).unwrap();
    huge.write_all(&u32::MAX.to_be_bytes()).unwrap();
    let mut junk = TcpStream::connect(target).unwrap();
    junk.write_all(&[0, 0, 0, 8, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4])
        .unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for len in [0usize, 3, 17, 600] {
        udp.send_to(&vec![0xab; len], target).unwrap();
    }
    let counted = wait_until(WAIT, || {
        let stats = api(&n1, "/api/node")?["stats"].clone();
        let count = |key: &str| stats[key].as_u64().unwrap_or(0);
        let all = count("handshake_failures") >= 2
            && count("oversized_frames") >= 1
            && count("bad_frames") >= 1
            && count("bad_datagrams") >= 3;
        all.then_some(())
    });
    assert!(counted.is_some(), "counters: {:?}", api(&n1, "/api/node"));
    wait_all_see(&[&n1, &n2], &["n1", "n2"]);
}

#[test]
fn version_flag_prints_version_and_build_hash() {
    let out = std::process::Command::new(bin())
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.starts_with(&format!("shoal {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("build "), "{text}");
}

#[test]
fn nodes_on_one_host_find_each_other_through_the_local_directory_and_skip_stale_entries() {
    let c = cookie("local");
    let dir = std::env::temp_dir().join(format!("shoal-local-test-{}", std::process::id()));
    let dir_arg = dir.to_string_lossy().to_string();
    let args = [
        "--cookie",
        c.as_str(),
        "--discovery",
        "local",
        "--local-dir",
        &dir_arg,
    ];
    let n1 = NodeProcess::spawn(bin(), "n1", &args).unwrap();
    // A leftover entry of a process that no longer exists, in n1's cluster directory.
    let cluster_dir = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let stale = cluster_dir.join("ghost.json");
    std::fs::write(
        &stale,
        r#"{"name":"ghost","listen":"127.0.0.1:9","pid":2147483646}"#,
    )
    .unwrap();
    let n2 = NodeProcess::spawn(bin(), "n2", &args).unwrap();
    wait_all_see(&[&n1, &n2], &["n1", "n2"]);
    assert!(
        wait_until(WAIT, || (!stale.exists()).then_some(())).is_some(),
        "stale entry not removed"
    );
    drop((n1, n2));
    let _ = std::fs::remove_dir_all(&dir);
}
