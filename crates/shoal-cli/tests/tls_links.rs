//! TLS on links, end to end: real `shoal node` processes on 127.0.0.1 with certificates from
//! `shoal certs gen`. A cluster forms over mutual TLS; a node whose certificate comes from
//! another CA, a plain node dialling a TLS node and a TLS node dialling a plain one are all
//! refused, and both sides of each say why in their logs and count it (`reason="tls"`).
//! `shoal cluster start --tls` starts a cluster a plain node cannot join. (That no payload
//! crosses the wire in clear is checked on a bridge in `tls_capture.rs`.)

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::io::Write;
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

/// `shoal_handshake_failures_total{reason="<reason>"}` of a node.
fn failures(node: &NodeProcess, reason: &str) -> u64 {
    let (_, body) = http_get(node.ready.http.unwrap(), "/metrics").unwrap();
    let prefix = format!("shoal_handshake_failures_total{{reason=\"{reason}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
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
    wait_log(&t9, "the peer did not speak TLS");
    wait_log(&lone, "a peer that speaks TLS: this node runs with --tls off");

    for node in [&t1, &t2, &x1, &plain, &lone, &t9] {
        assert!(
            failures(node, "tls") > 0,
            "{} counted no TLS failure",
            node.ready.name
        );
    }

    // Something that is no Shoal node (an HTTP client) on a TLS node's link port is counted
    // as such, not as a peer without TLS.
    let mut junk = std::net::TcpStream::connect(t3.ready.listen).unwrap();
    junk.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    wait_log(&t3, "speaks neither TLS nor Shoal's link protocol");
    assert_eq!(failures(&t3, "not_shoal"), 1);
    assert_eq!(
        failures(&t3, "tls"),
        0,
        "the HTTP client was counted as a TLS mismatch"
    );
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

/// Signs a node certificate with the CA in `ca_dir` (made by `shoal certs gen`, whose CA name
/// is fixed) with the given validity and usages, and writes `NAME.pem` and `NAME.key`.
fn sign_odd(ca_dir: &Path, name: &str, days: (i64, i64), usages: Vec<rcgen::ExtendedKeyUsagePurpose>) {
    let ca_key = rcgen::KeyPair::from_pem(&std::fs::read_to_string(ca_dir.join("ca.key")).unwrap()).unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Shoal cluster CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(days.0);
    params.not_after = now + time::Duration::days(days.1);
    params.extended_key_usages = usages;
    let cert = params.signed_by(&key, &issuer).unwrap();
    std::fs::write(ca_dir.join(format!("{name}.pem")), cert.pem()).unwrap();
    std::fs::write(ca_dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
}

#[test]
fn a_certificate_peers_would_refuse_stops_the_node_at_start() {
    use rcgen::ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
    let tmp = TempDir::new("own-cert");
    let (ca, other) = (tmp.0.join("ca"), tmp.0.join("other"));
    certs_gen(&ca, "good");
    certs_gen(&other, "stranger");
    sign_odd(&ca, "expired", (-30, -1), vec![ServerAuth, ClientAuth]);
    sign_odd(&ca, "early", (5, 30), vec![ServerAuth, ClientAuth]);
    sign_odd(&ca, "serveronly", (-1, 30), vec![ServerAuth]);
    let args = |dir: &Path, name: &str, ca_file: &Path| {
        let file = |f: String| dir.join(f).display().to_string();
        let ca = ca_file.display().to_string();
        node_output(&[
            "--tls",
            "required",
            "--tls-cert",
            &file(format!("{name}.pem")),
            "--tls-key",
            &file(format!("{name}.key")),
            "--tls-ca",
            &ca,
            "--check",
        ])
    };
    let ours = ca.join("ca.pem");
    assert!(
        args(&ca, "good", &ours).status.success(),
        "a good certificate is refused"
    );
    for name in ["expired", "early"] {
        assert_refused(&args(&ca, name, &ours), "would be refused by peers");
    }
    assert_refused(&args(&ca, "serveronly", &ours), "would be refused by peers");
    assert_refused(&args(&other, "stranger", &ours), "would be refused by peers");
    // A node named `ca` would overwrite the CA.
    let out = Command::new(bin())
        .args(["certs", "gen", "--nodes", "ca", "--ca-dir"])
        .arg(&ca)
        .output()
        .unwrap();
    assert_refused(&out, "would overwrite the CA");
}
