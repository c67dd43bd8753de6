//! `shoal node` refuses bad settings before starting: non-zero exit, one line naming the value
//! and the fix.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

fn node(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "node",
            "--name",
            "bad",
            "--cookie",
            "k",
            "--discovery",
            "static",
            "--http",
            "127.0.0.1:0",
        ])
        .args(args)
        .output()
        .unwrap()
}

/// Asserts a failed start whose error is one line mentioning every `needle`.
fn assert_refused(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure, stderr:\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line expected:\n{stderr}");
    for needle in needles {
        assert!(
            errors[0].contains(needle),
            "{needle:?} missing from {:?}",
            errors[0]
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn busy_listen_port_is_refused_with_the_address_and_a_fix() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    assert_refused(&node(&["--listen", &addr]), &[&addr, "port 0"]);
}

#[test]
fn port_out_of_range_is_refused() {
    assert_refused(
        &node(&["--listen", "127.0.0.1:70000"]),
        &["127.0.0.1:70000", "65535"],
    );
}

#[test]
fn unreadable_cookie_file_is_refused_with_its_path() {
    let out = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "node",
            "--name",
            "bad",
            "--cookie-file",
            "/nonexistent/shoal.cookie",
        ])
        .output()
        .unwrap();
    assert_refused(&out, &["/nonexistent/shoal.cookie"]);
}

#[test]
fn malformed_config_file_is_refused_with_its_path() {
    let path = std::env::temp_dir().join(format!("shoal-bad-{}.toml", std::process::id()));
    std::fs::write(&path, "name = [unclosed\n").unwrap();
    let out = node(&["--config", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    assert_refused(&out, &[Path::new(&path).to_str().unwrap()]);
}

#[test]
fn roles_too_long_for_a_handshake_are_refused_before_the_node_starts() {
    let roles: Vec<String> = (0..200).map(|i| format!("{}{i}", "r".repeat(60))).collect();
    // Without the check the node would start; stdin at end of file then makes it leave.
    let out = node(&["--leave-on-stdin-eof", "--roles", &roles.join(",")]);
    assert_refused(&out, &["handshake limit", "fewer or shorter --roles"]);
}

#[test]
fn malformed_dns_discovery_is_refused_saying_what_to_write() {
    assert_refused(
        &node(&["--discovery", "dns:bad..name:7000"]),
        &[
            "--discovery",
            "dns:bad..name:7000",
            "dns:NAME:PORT",
            "dns-srv:NAME",
        ],
    );
    // No port, and the listen port is any free one: say how to give one.
    assert_refused(
        &node(&["--discovery", "dns:shoal.internal"]),
        &["dns:shoal.internal", "dns:NAME:PORT", "--listen"],
    );
    assert_refused(
        &node(&["--discovery", "dns:x.internal:1", "--discovery-interval-ms", "0"]),
        &["--discovery-interval-ms", "milliseconds above 0"],
    );
}

#[test]
fn malformed_multicast_discovery_is_refused_saying_what_to_write() {
    assert_refused(
        &node(&["--discovery", "local,multicast:10.0.0.1:7000"]),
        &["--discovery", "multicast:10.0.0.1:7000", "multicast:GROUP:PORT"],
    );
    assert_refused(
        &node(&["--discovery", "multicast", "--multicast-ttl", "0"]),
        &["--multicast-ttl", "1 to 255"],
    );
    // Beacons go over IPv4 only: an IPv6 link address is refused at start.
    assert_refused(
        &node(&["--discovery", "multicast", "--listen", "[::1]:0"]),
        &["multicast", "IPv4", "--advertise"],
    );
}
