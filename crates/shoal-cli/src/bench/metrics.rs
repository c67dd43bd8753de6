//! `shoal bench metrics`: how long one `/metrics` scrape takes on a node that runs 10,000
//! actors, in a cluster of 3 in this process (real sockets on 127.0.0.1, so the per-peer
//! link families have rows). Times `Node::encode_metrics` alone (what the node spends) and
//! a whole `GET /metrics` over HTTP (what a scraper waits), each first with no actors.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use shoal_node::Node;
use shoal_node::actor::Echo;

use super::{max, median, round2};

/// Actors on the scraped node.
const ACTORS: usize = 10_000;
/// Scrapes timed per figure.
const SCRAPES: usize = 200;
/// How long the nodes may take to see each other.
const FORM_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn run() -> anyhow::Result<Value> {
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async {
        let nodes = start().await?;
        let http = nodes[0].local().http.context("the scraped node serves no HTTP")?;
        let node = nodes[0].clone();
        let (empty, empty_http, empty_bytes) =
            tokio::task::spawn_blocking(move || timed(&node, http)).await??;
        let actors: Vec<_> = (0..ACTORS)
            .map(|_| nodes[0].actors().spawn(Echo::default()))
            .collect();
        let node = nodes[0].clone();
        let (full, full_http, full_bytes) = tokio::task::spawn_blocking(move || timed(&node, http)).await??;
        drop(actors);
        for node in &nodes {
            node.shutdown().await;
        }
        Ok(json!({
            "scenario": "metrics",
            "nodes": nodes.len(),
            "actors": ACTORS,
            "scrapes": SCRAPES,
            "encode_0_actors_us_p50": round2(median(&empty)),
            "http_0_actors_us_p50": round2(median(&empty_http)),
            "bytes_0_actors": empty_bytes,
            "scrape_10k_actors_us_p50": round2(median(&full)),
            "scrape_10k_actors_us_p99": round2(p99(&full)),
            "scrape_10k_actors_us_max": round2(max(&full)),
            "http_10k_actors_us_p50": round2(median(&full_http)),
            "http_10k_actors_us_p99": round2(p99(&full_http)),
            "bytes_10k_actors": full_bytes,
        }))
    })
}

/// Three nodes, the first with its HTTP API, seeded with the first and with a fresh cookie
/// and no same-host discovery (so the benchmark never joins anything else); waits until
/// each sees the others.
async fn start() -> anyhow::Result<Vec<Node>> {
    let cookie = format!("bench-{:032x}", rand::random::<u128>());
    let builder = |name: &str| Node::builder().name(name).cookie(&cookie).local_discovery(None);
    let first = shoal_http::start(builder("metrics-1").http(Some(SocketAddr::from(([127, 0, 0, 1], 0)))))
        .await
        .context("starting the scraped node")?;
    let seed = first.listen_addr().to_string();
    let mut nodes = vec![first];
    for name in ["metrics-2", "metrics-3"] {
        let node = builder(name)
            .seeds([seed.clone()])
            .start()
            .await
            .with_context(|| format!("starting {name}"))?;
        nodes.push(node);
    }
    let deadline = Instant::now() + FORM_TIMEOUT;
    while nodes.iter().any(|n| n.members().len() + 1 != nodes.len()) {
        anyhow::ensure!(Instant::now() < deadline, "the 3 nodes did not form within 30 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(nodes)
}

/// [`SCRAPES`] timings, in µs, of `encode_metrics` and of `GET /metrics` at `http`; and the
/// size of one scrape in bytes.
fn timed(node: &Node, http: SocketAddr) -> anyhow::Result<(Vec<f64>, Vec<f64>, usize)> {
    let mut out = String::new();
    let mut encode = Vec::with_capacity(SCRAPES);
    for _ in 0..SCRAPES {
        out.clear();
        let start = Instant::now();
        node.encode_metrics(&mut out).context("encoding the metrics")?;
        encode.push(start.elapsed().as_secs_f64() * 1e6);
    }
    let mut whole = Vec::with_capacity(SCRAPES);
    for _ in 0..SCRAPES {
        let start = Instant::now();
        let (status, body) = shoal_api::http_get(http, "/metrics").context("GET /metrics")?;
        whole.push(start.elapsed().as_secs_f64() * 1e6);
        anyhow::ensure!(status == 200, "GET /metrics answered {status}: {body}");
    }
    Ok((encode, whole, out.len()))
}

/// The 99th percentile of `values`; 0 for none.
fn p99(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() * 99 / 100).copied().unwrap_or(0.0)
}
