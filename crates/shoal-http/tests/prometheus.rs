//! `GET /metrics` answers without a token in the Prometheus text format; and a real
//! Prometheus server (Debian's `prometheus` package) scrapes it on a three-node cluster, and
//! a PromQL query over what it scraped returns the member counts; `promtool check metrics`
//! accepts every node's output. CI installs the package in `.ci/run`; on a machine without
//! it the second test skips and says how to install it, or fails where `SHOAL_REQUIRE_TOOLS`
//! is set (CI).

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use shoal_api::http_request;
use shoal_node::Node;

use common::builder;

const WAIT: Duration = Duration::from_secs(30);

/// How to get the binaries this test runs.
const INSTALL: &str = "install Debian's package with `apt-get install -y prometheus` (CI's .ci/run does)";

/// A Prometheus server in its own directory (config, storage, log), killed and removed on
/// drop, on every path out of the test.
struct Prometheus {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` every second, on a free port of 127.0.0.1.
    fn start(targets: &[SocketAddr]) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "shoal-prometheus-{}-{}",
            std::process::id(),
            shoal_node::now_us()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: shoal\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        // Prometheus cannot report a port it chose, so the OS picks one here first.
        let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `prometheus` ({e}): {INSTALL}"));
        Self { child, dir, addr }
    }

    /// Its log so far, for a failure message.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// The result vector of the instant `query` (already URL-encoded), or why not.
    fn query(&self, query: &str) -> Result<Vec<serde_json::Value>, String> {
        let path = format!("/api/v1/query?query={query}");
        let (status, body) =
            http_request(self.addr, "GET", &path, None, Duration::from_secs(5)).map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("{status}: {body}"));
        }
        let answer: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        answer["data"]["result"]
            .as_array()
            .cloned()
            .ok_or_else(|| format!("no result in {body}"))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `promtool check metrics` on `text`; its exit status and what it printed.
fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `promtool` ({e}): {INSTALL}"));
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), printed)
}

/// The response head and body of `GET /metrics` at `addr`.
fn scrape(addr: SocketAddr) -> (String, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

async fn cluster() -> Vec<Node> {
    let first = shoal_http::start(builder("prom-a")).await.unwrap();
    let seed = first.listen_addr().to_string();
    let mut nodes = vec![first];
    for name in ["prom-b", "prom-c"] {
        nodes.push(
            shoal_http::start(builder(name).seeds([seed.clone()]))
                .await
                .unwrap(),
        );
    }
    let formed = tokio::time::timeout(WAIT, async {
        while nodes.iter().any(|n| n.members().len() != 2) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(formed.is_ok(), "the three nodes never saw each other");
    nodes
}

/// Why this test cannot run here, if `prometheus` or `promtool` does not start.
fn missing_tools() -> Option<String> {
    ["prometheus", "promtool"].into_iter().find_map(|tool| {
        let runs = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        (!runs).then(|| format!("`{tool}` does not run: {INSTALL}"))
    })
}

/// Needs no Prometheus: the route is open (no token) and answers in the text format.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_without_a_token_in_the_prometheus_text_format() {
    let (node, addr) = common::served_node("metrics-open", "secret").await;
    let (head, body) = tokio::task::spawn_blocking(move || scrape(addr)).await.unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    assert!(body.contains("# TYPE shoal_members gauge\n"), "{body}");
    assert!(body.contains("shoal_members{state=\"alive\"} 1\n"), "{body}");
    assert!(body.contains("shoal_node_info{name=\"metrics-open\","), "{body}");
    let (status, _) = tokio::task::spawn_blocking(move || {
        http_request(addr, "POST", "/metrics", None, Duration::from_secs(5)).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(status, 405, "/metrics only reads");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_three_nodes_and_promql_returns_the_member_counts() {
    if let Some(missing) = missing_tools()
        && shoal_api::env::skip_without_tool(&missing)
    {
        return;
    }
    let nodes = cluster().await;
    let targets: Vec<SocketAddr> = nodes.iter().map(|n| n.local().http.unwrap()).collect();
    for addr in &targets {
        let (head, body) = tokio::task::spawn_blocking({
            let addr = *addr;
            move || scrape(addr)
        })
        .await
        .unwrap();
        let head = head.to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(
            head.contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
            "{head}"
        );
        let (ok, printed) = promtool_check(&body);
        assert!(
            ok,
            "promtool check metrics refused {addr}'s output: {printed}\n{body}"
        );
    }

    let prometheus = tokio::task::spawn_blocking({
        let targets = targets.clone();
        move || Prometheus::start(&targets)
    })
    .await
    .unwrap();
    // shoal_members{state="alive"}
    let query = "shoal_members%7Bstate%3D%22alive%22%7D";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let last = loop {
        let answer = tokio::task::block_in_place(|| prometheus.query(query));
        if answer.as_ref().is_ok_and(|r| r.len() == targets.len()) || tokio::time::Instant::now() >= deadline
        {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let result = last.unwrap_or_else(|e| panic!("Prometheus never answered: {e}\n{}", prometheus.log()));
    assert_eq!(result.len(), targets.len(), "{result:?}\n{}", prometheus.log());
    let mut instances: Vec<String> = result
        .iter()
        .map(|series| {
            assert_eq!(series["value"][1], "3", "{series}");
            assert_eq!(series["metric"]["job"], "shoal", "{series}");
            series["metric"]["instance"].as_str().unwrap().to_owned()
        })
        .collect();
    instances.sort();
    let mut expected: Vec<String> = targets.iter().map(ToString::to_string).collect();
    expected.sort();
    assert_eq!(instances, expected);
    drop(prometheus);
    for node in nodes {
        node.shutdown().await;
    }
}
