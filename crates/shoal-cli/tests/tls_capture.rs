//! What an observer on the network sees of actor traffic, with and without TLS: a `shoal node`
//! in its own network namespace and a node in this test (on the bridge's own address) call an
//! echo actor with a marker payload while `tcpdump` records the bridge. Over plain TCP the
//! marker is in the capture (so the capture does see the traffic); over TLS it is not.
//!
//! Needs root, `ip` (iproute2), `dnsmasq` (for the shared namespace helper's check) and
//! `tcpdump`; elsewhere it prints why and passes (fails under `SHOAL_REQUIRE_TOOLS`).

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

#[path = "dns_discovery/netns.rs"]
mod netns;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid as OsPid;
use shoal_api::env::skip_without_tool;
use shoal_node::actor::{ECHO_FACTORY, EchoCall, EchoMsg, EchoReply};
use shoal_node::tls::{TlsConfig, TlsFiles};
use shoal_node::{Node, NodeName};

use netns::{Net, NodeSpec};

const MARKER: &[u8] = b"shoal-capture-marker-7f3a9c";
const WAIT: Duration = Duration::from_secs(20);

/// A directory removed however the test ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `tcpdump` writing the bridge's packets to a file; stopped (and flushed) on drop.
struct Capture {
    child: Child,
    file: PathBuf,
    /// tcpdump's stderr after its "listening" line (kept open: it reports at exit).
    said: std::io::Lines<BufReader<std::process::ChildStderr>>,
}

impl Capture {
    /// Starts recording the bridge `br0` of namespace `hub` and returns once tcpdump says it
    /// listens.
    fn start(hub: &str, file: PathBuf) -> Self {
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                hub,
                "tcpdump",
                "-i",
                "br0",
                "--immediate-mode",
                "-U",
                "-n",
                "-s",
                "0",
            ])
            .arg("-w")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let listening = lines.any(|l| l.is_ok_and(|l| l.contains("listening on")));
        assert!(listening, "tcpdump never said it was listening");
        Self {
            child,
            file,
            said: lines,
        }
    }

    /// Stops tcpdump and returns what it recorded, and what it said at exit.
    fn finish(mut self) -> (Vec<u8>, String) {
        let _ = kill(OsPid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let _ = self.child.wait();
        let said: Vec<String> = self.said.by_ref().map_while(Result::ok).collect();
        (std::fs::read(&self.file).unwrap(), said.join("; "))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn tcpdump_missing() -> bool {
    Command::new("tcpdump").arg("--version").output().is_err()
}

fn tls_files(dir: &Path, name: &str) -> TlsFiles {
    TlsFiles {
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}.key")),
        ca: dir.join("ca.pem"),
    }
}

/// Starts `shoal node` as `name` in a fresh namespace `short` (a few letters: interface
/// names are short) at `.host`; returns its link address.
fn start_far(net: &mut Net, (short, name): (&str, &str), host: u8, tls: Option<&TlsFiles>) -> SocketAddr {
    let ns = net.namespace(short, host, net.ip(1));
    let listen = SocketAddr::from((net.ip(host), 7000));
    let http = SocketAddr::from((net.ip(host), 8080));
    let paths: Vec<String> = tls
        .iter()
        .flat_map(|f| [&f.cert, &f.key, &f.ca])
        .map(|p| p.display().to_string())
        .collect();
    let mut extra = vec!["--discovery", "none"];
    if let [cert, key, ca] = paths.as_slice() {
        extra.extend([
            "--tls",
            "required",
            "--tls-cert",
            cert,
            "--tls-key",
            key,
            "--tls-ca",
            ca,
        ]);
    }
    let spec = NodeSpec {
        name,
        host,
        ports: (listen.port(), http.port()),
        cookie: "capture",
        extra: &extra,
    };
    net.shoal_node(&ns, &spec);
    let deadline = Instant::now() + WAIT;
    while shoal_api::client::get::<serde_json::Value>(http, "/api/node", Duration::from_secs(1)).is_err() {
        assert!(Instant::now() < deadline, "{name} never answered on {http}");
        std::thread::sleep(Duration::from_millis(50));
    }
    listen
}

/// Joins `far` from this process (on the bridge's address), calls an echo actor there with
/// the marker and sends it the marker too; returns once the echo answered.
async fn exchange(net: &Net, name: &str, far: SocketAddr, far_name: &str, tls: Option<TlsConfig>) {
    let near = Node::builder()
        .name(name)
        .cookie("capture")
        .listen(SocketAddr::from((net.ip(1), 0)))
        .seeds([far.to_string()])
        .local_discovery(None)
        .tls(tls)
        .start()
        .await
        .unwrap();
    let far_name = NodeName::new(far_name).unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !near
        .members()
        .iter()
        .any(|m| m.member.id.name == far_name && m.linked)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} never linked to {far}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let actors = near.actors();
    let echo = actors
        .spawn_remote(&far_name, ECHO_FACTORY, &(), WAIT)
        .await
        .unwrap();
    let reply: EchoReply = actors
        .call(&echo, EchoCall::Echo(Bytes::from_static(MARKER)), WAIT)
        .await
        .unwrap();
    assert!(
        matches!(reply, EchoReply::Echo(ref b) if b.as_ref() == MARKER),
        "{reply:?}"
    );
    for _ in 0..10 {
        actors
            .send(&echo, EchoMsg::Data(Bytes::from_static(MARKER)))
            .unwrap();
    }
    let _: EchoReply = actors.call(&echo, EchoCall::Received, WAIT).await.unwrap();
    near.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_payloads_cross_the_wire_in_clear_without_tls_and_never_with_it() {
    if let Some(why) = netns::unavailable(&[])
        && skip_without_tool(&format!("network namespaces: {why}"))
    {
        return;
    }
    if tcpdump_missing() && skip_without_tool("tcpdump is not installed (apt-get install tcpdump)") {
        return;
    }
    let dir = TempDir(std::env::temp_dir().join(format!("shoal-capture-{}", std::process::id())));
    let certs = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(["certs", "gen", "--nodes", "capfar,capnear", "--ca-dir"])
        .arg(dir.0.join("ca"))
        .output()
        .unwrap();
    assert!(
        certs.status.success(),
        "{}",
        String::from_utf8_lossy(&certs.stderr)
    );
    let mut net = Net::new();
    let hub = net.hub.clone();

    let plain_far = start_far(&mut net, ("pf", "plainfar"), 2, None);
    let capture = Capture::start(&hub, dir.0.join("plain.pcap"));
    exchange(&net, "plainnear", plain_far, "plainfar", None).await;
    let (plain, said) = capture.finish();
    assert!(
        contains(&plain, MARKER),
        "the plain capture ({} bytes; tcpdump: {said}) lacks the marker: it did not see the traffic",
        plain.len()
    );

    let far_files = tls_files(&dir.0.join("ca"), "capfar");
    let tls_far = start_far(&mut net, ("tf", "capfar"), 3, Some(&far_files));
    let near_tls = TlsConfig::from_files(tls_files(&dir.0.join("ca"), "capnear")).unwrap();
    let capture = Capture::start(&hub, dir.0.join("tls.pcap"));
    exchange(&net, "capnear", tls_far, "capfar", Some(near_tls)).await;
    let (tls, said) = capture.finish();
    assert!(
        tls.len() > 2_000,
        "the TLS capture holds only {} bytes; tcpdump: {said}",
        tls.len()
    );
    assert!(
        !contains(&tls, MARKER),
        "the marker crossed the wire in clear over TLS"
    );
}
