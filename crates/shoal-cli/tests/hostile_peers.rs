//! Connections that never prove the cookie, against a real `shoal node` process: they may cost
//! the node a bounded amount of memory and time, never more, and the node keeps working.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use shoal_testkit::{NodeProcess, http_get, wait_until};

const WAIT: Duration = Duration::from_secs(30);

fn node(test: &str) -> NodeProcess {
    let bin = Path::new(env!("CARGO_BIN_EXE_shoal"));
    let cookie = format!("{test}-{}", std::process::id());
    NodeProcess::spawn(
        bin,
        &format!("{test}-n1"),
        &["--cookie", &cookie, "--discovery", "none"],
    )
    .unwrap()
}

/// A `VmHWM`-style field of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn stats(node: &NodeProcess) -> Value {
    let (status, body) = http_get(node.ready.http.unwrap(), "/api/node").unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["stats"].clone()
}

/// Announces a frame just under 8 MiB and sends 7 MiB of junk behind it, as far as the node
/// lets it (errors are the node closing the connection, which is the point), and keeps the
/// connection open.
fn oversized_frame(addr: SocketAddr) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(addr).ok()?;
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(&(8u32 * 1024 * 1024 - 16).to_be_bytes());
    let junk = vec![0x5a; 1024 * 1024];
    for _ in 0..7 {
        if stream.write_all(&junk).is_err() {
            break;
        }
    }
    Some(stream)
}

#[test]
fn unauthenticated_connections_announcing_large_frames_cost_little_memory() {
    let node = node("bigframes");
    let pid = node.pid();
    let before = status_kib(pid, "VmHWM:");
    // 100 connections in 4 threads, as in the report that took a node to 727 MB.
    let open: Vec<TcpStream> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..25)
                        .filter_map(|_| oversized_frame(node.ready.listen))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
    });
    let refused = wait_until(WAIT, || {
        let stats = stats(&node);
        let refused =
            stats["handshake_failures"].as_u64().unwrap() + stats["handshakes_shed"].as_u64().unwrap();
        (refused >= 100).then_some(refused)
    });
    let peak = status_kib(pid, "VmHWM:");
    drop(open);
    // Before the handshake frame limit, each connection made the node reserve ~8 MiB.
    assert!(
        peak < before + 64 * 1024,
        "peak RSS grew from {before} KiB to {peak} KiB for 100 unauthenticated connections"
    );
    assert!(
        refused.is_some(),
        "the node did not refuse all 100 connections: {}",
        stats(&node)
    );
    let (status, _) = http_get(node.ready.http.unwrap(), "/health").unwrap();
    assert_eq!(status, 200);
}

#[test]
fn silent_connections_are_capped_and_a_real_peer_still_joins_after_they_time_out() {
    let node = node("silent");
    // More silent connections than the node keeps in handshake at once.
    let silent: Vec<TcpStream> = (0..100)
        .map(|i| TcpStream::connect(node.ready.listen).unwrap_or_else(|e| panic!("connection {i}: {e}")))
        .collect();
    let shed = wait_until(WAIT, || {
        let shed = stats(&node)["handshakes_shed"].as_u64().unwrap();
        (shed > 0).then_some(shed)
    });
    assert!(
        shed.is_some(),
        "100 silent connections were all kept: {}",
        stats(&node)
    );
    // Every silent connection is closed by the node in the end: a read sees the close.
    for mut stream in silent {
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {} // the node's Hello
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("a silent connection was still open after {WAIT:?}: {e}"),
            }
        }
    }
    // Then a node with the cookie joins as usual.
    let bin = Path::new(env!("CARGO_BIN_EXE_shoal"));
    let cookie = format!("silent-{}", std::process::id());
    let seed = node.ready.listen.to_string();
    let args = [
        "--cookie",
        cookie.as_str(),
        "--discovery",
        "static",
        "--seeds",
        seed.as_str(),
    ];
    let peer = NodeProcess::spawn(bin, "silent-n2", &args).unwrap();
    // By its member list: its `node_up` line may come before its ready line.
    let joined = wait_until(WAIT, || {
        let (_, body) = http_get(peer.ready.http.unwrap(), "/api/members").ok()?;
        body.contains("\"silent-n1\"").then_some(())
    });
    assert!(
        joined.is_some(),
        "a real peer could not join after the silent connections\n-- n1:\n{}\n-- n2:\n{}",
        node.log_text(),
        peer.log_text()
    );
}
