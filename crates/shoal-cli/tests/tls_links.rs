//! TLS on links, end to end: real `shoal node` processes on 127.0.0.1 with certificates from
//! `shoal certs gen`. A cluster forms over mutual TLS; a node whose certificate comes from
//! another CA, a plain node dialling a TLS node and a TLS node dialling a plain one are all
//! refused, and both sides of each say why in their logs and count it (`reason="tls"`).
//! `shoal cluster start --tls` starts a cluster a plain node cannot join. (That no payload
//! crosses the wire in clear is checked on a bridge in `tls_capture.rs`.)

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use shoal_testkit::{NodeProcess, http_get, wait_until};

mod common;
use common::{ClusterDir, alive_members, shoal_in};

const WAIT: Duration = Duration::from_secs(20);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_shoal"))
}

/// A directory removed however the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("shoal-tls-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn certs_gen(dir: &Path, nodes: &str) {
    let out = Command::new(bin())
        .args(["certs", "gen", "--nodes", nodes, "--ca-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "certs gen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The TLS flags of node `name` with its files in `ca_dir`.
fn tls_args(ca_dir: &Path, name: &str) -> Vec<String> {
    let file = |f: String| ca_dir.join(f).display().to_string();
    vec![
        "--tls".into(),
        "required".into(),
        "--tls-cert".into(),
        file(format!("{name}.pem")),
        "--tls-key".into(),
        file(format!("{name}.key")),
        "--tls-ca".into(),
        file("ca.pem".into()),
    ]
}

fn start(name: &str, tls: Option<&Path>, seeds: &[&NodeProcess]) -> NodeProcess {
    let seeds: Vec<String> = seeds.iter().map(|n| n.ready.listen.to_string()).collect();
    let mut args: Vec<String> = ["--cookie", "tls-test", "--discovery", "static"]
        .map(String::from)
        .to_vec();
    if !seeds.is_empty() {
        args.extend(["--seeds".into(), seeds.join(",")]);
    }
    if let Some(dir) = tls {
        args.extend(tls_args(dir, name));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    NodeProcess::spawn(bin(), name, &args).unwrap()
}

fn wait_log(node: &NodeProcess, needle: &str) {
    let seen = wait_until(WAIT, || node.log_text().contains(needle).then_some(()));
    assert!(
        seen.is_some(),
        "{} never logged {needle:?}; log:\n{}",
        node.ready.name,
        node.log_text()
    );
}

/// `shoal_handshake_failures_total{reason="tls"}` of a node.
fn tls_failures(node: &NodeProcess) -> u64 {
    let (_, body) = http_get(node.ready.http.unwrap(), "/metrics").unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix("shoal_handshake_failures_total{reason=\"tls\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

fn discovery_outcomes(node: &NodeProcess) -> String {
    http_get(node.ready.http.unwrap(), "/api/discovery")
        .map(|(_, body)| body)
        .unwrap_or_default()
}

#[test]
fn a_cluster_forms_over_mutual_tls_and_refuses_other_cas_and_plain_peers_on_both_sides() {
    let tmp = TempDir::new("mutual");
    let (ca, rogue) = (tmp.0.join("ca"), tmp.0.join("rogue"));
    certs_gen(&ca, "t1,t2,t3");
    certs_gen(&ca, "t4,t9"); // a later run signs with the same CA
    certs_gen(&rogue, "x1");
    let t1 = start("t1", Some(&ca), &[]);
    let t2 = start("t2", Some(&ca), &[&t1]);
    let t3 = start("t3", Some(&ca), &[&t1]);
    let t4 = start("t4", Some(&ca), &[&t2]);
    for node in [&t1, &t2, &t3, &t4] {
        let whole = wait_until(WAIT, || (alive_members(node).len() == 4).then_some(()));
        assert!(
            whole.is_some(),
            "{} sees {:?}",
            node.ready.name,
            alive_members(node)
        );
    }

    // Another CA's certificate: the dialer refuses the acceptor's, and the acceptor learns it.
    let x1 = start("x1", Some(&rogue), &[&t1]);
    wait_log(&x1, "the peer's certificate is not signed by our CA");
    wait_log(&t1, "the peer refused our certificate");
    let x1_outcome = wait_until(WAIT, || discovery_outcomes(&x1).contains("\"tls\"").then_some(()));
    assert!(
        x1_outcome.is_some(),
        "x1's discovery: {}",
        discovery_outcomes(&x1)
    );

    // A plain node dialling a TLS node: refused, and told so.
    let plain = start("p1", None, &[&t2]);
    wait_log(&plain, "it requires TLS on links");
    wait_log(&t2, "a peer without TLS: this node requires TLS");

    // A TLS node dialling a plain one.
    let lone = start("p2", None, &[]);
    let t9 = start("t9", Some(&ca), &[&lone]);
    wait_log(&t9, "the peer answered without TLS");
    wait_log(&lone, "a peer that speaks TLS: this node runs with --tls off");

    for node in [&t1, &t2, &x1, &plain, &lone, &t9] {
        assert!(
            tls_failures(node) > 0,
            "{} counted no TLS failure",
            node.ready.name
        );
    }
    for node in [&t1, &t2, &t3, &t4] {
        let members = alive_members(node);
        assert_eq!(
            members,
            ["t1", "t2", "t3", "t4"],
            "{} let a refused node in",
            node.ready.name
        );
    }
    for refused in [&x1, &plain, &t9] {
        assert_eq!(alive_members(refused), [refused.ready.name.as_str()]);
    }
}

fn node_output(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("node")
        .args([
            "--name",
            "bad",
            "--cookie",
            "c",
            "--no-http",
            "--discovery",
            "none",
        ])
        .args(args)
        .env_remove("SHOAL_TLS")
        .output()
        .unwrap()
}

fn assert_refused(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started anyway; stderr:\n{stderr}");
    assert!(stderr.contains(needle), "no {needle:?} in:\n{stderr}");
}

#[test]
fn wrong_tls_settings_are_refused_before_the_node_starts_saying_what_to_do() {
    let tmp = TempDir::new("settings");
    let ca = tmp.0.join("ca");
    certs_gen(&ca, "a,b");
    let path = |f: &str| ca.join(f).display().to_string();
    assert_refused(
        &node_output(&["--tls", "required"]),
        "missing: --tls-cert, --tls-key, --tls-ca",
    );
    assert_refused(&node_output(&["--tls", "maybe"]), "use required or off");
    assert_refused(
        &node_output(&["--tls-cert", &path("a.pem")]),
        "add --tls required",
    );
    let mismatched = [
        "--tls",
        "required",
        "--tls-cert",
        &path("a.pem"),
        "--tls-key",
        &path("b.key"),
        "--tls-ca",
        &path("ca.pem"),
    ];
    assert_refused(&node_output(&mismatched), "the key does not fit the certificate");
    let missing = [
        "--tls",
        "required",
        "--tls-cert",
        &path("nope.pem"),
        "--tls-key",
        &path("a.key"),
        "--tls-ca",
        &path("ca.pem"),
    ];
    assert_refused(&node_output(&missing), "cannot read the certificate (--tls-cert)");
    let swapped = [
        "--tls",
        "required",
        "--tls-cert",
        &path("a.key"),
        "--tls-key",
        &path("a.pem"),
        "--tls-ca",
        &path("ca.pem"),
    ];
    assert_refused(&node_output(&swapped), "TLS:");
    // `certs gen` keeps a node's files unless told to replace them.
    let again = Command::new(bin())
        .args(["certs", "gen", "--nodes", "a", "--ca-dir"])
        .arg(&ca)
        .output()
        .unwrap();
    assert_refused(&again, "pass --force");
}

#[test]
fn cluster_start_tls_runs_a_cluster_a_plain_node_cannot_join() {
    let dir = ClusterDir::new("tls-cluster");
    let out = shoal_in(&dir.0, &["cluster", "start", "--size", "3", "--tls", "--json"]);
    assert!(
        out.status.success(),
        "start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nodes = status.as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    assert!(nodes.iter().all(|n| n["members"] == 3), "{status}");
    for n in ["n1", "n2", "n3"] {
        assert!(dir.0.join("tls").join(format!("{n}.pem")).exists());
    }
    // A node with the cluster's cookie but no TLS is refused.
    let cookie = dir.0.join("cookie").display().to_string();
    let seed = nodes[0]["listen"].as_str().unwrap();
    let args = ["--cookie-file", &cookie, "--discovery", "static", "--seeds", seed];
    let plain = NodeProcess::spawn(bin(), "intruder", &args).unwrap();
    wait_log(&plain, "it requires TLS on links");
    assert_eq!(alive_members(&plain), ["intruder"]);
}
