//! `shoal bench dashboard`: 10 node processes with 10,000 idle actors each, and what the
//! dashboard costs on them:
//! - the answers a page's first render needs (`/api/cluster`, the first actor page over
//!   100,000 actors), timed from a client; and the page itself in headless Chromium (when
//!   `chromedriver` is installed): its first full render and its first actor page;
//! - CPU per node with no page watching, then with one feed open (what one page causes on
//!   the nodes; the gathering node apart from the others);
//! - a `kill -9` of a node: time until the feed shows it unreachable, and until it shows it
//!   down, after the gathering node detected it (its `node_down` event);
//! - the memory of a full history (10,000 events, an hour of samples with 9 peers).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use shoal_api::views::{ActorPage, ClusterView, NodeView};
use shoal_api::{Feed, Line, client};
use shoal_harness::NodeProcess;

use super::cluster::BenchCluster;
use super::{max, median, procfs, round2};

const NODES: usize = 10;
const ACTORS: usize = 10_000;
const CPU_WINDOW: Duration = Duration::from_secs(5);
const LIMIT: Duration = Duration::from_secs(60);
const ASK: Duration = Duration::from_secs(10);

pub(crate) fn run(bin: &std::path::Path, trials: usize) -> anyhow::Result<Value> {
    let names: Vec<String> = (1..=NODES).map(|i| format!("d{i:02}")).collect();
    let actors = ACTORS.to_string();
    eprintln!("starting {NODES} nodes with {ACTORS} idle actors each");
    let mut cluster = BenchCluster::start_formed_with(bin, &names, &["--idle-actors", &actors])?;
    for node in &cluster.nodes {
        wait_actors(node)?;
    }
    let gatherer = http(&cluster.nodes[0])?;
    let (cluster_ms, actors_ms) = first_render_answers(gatherer, trials)?;
    let page = super::page::measure(&format!("http://{gatherer}/"), trials);
    let (render_ms, page_actors_ms): (Vec<f64>, Vec<f64>) = match &page {
        Ok(times) => times.iter().map(|t| (t.first_render_ms, t.actors_ms)).unzip(),
        Err(e) => {
            eprintln!("no browser figures: {e}");
            (Vec::new(), Vec::new())
        }
    };
    let figure = |v: &[f64], f: fn(&[f64]) -> f64| (!v.is_empty()).then(|| round2(f(v)));
    let pids: Vec<u32> = cluster.nodes.iter().map(NodeProcess::pid).collect();
    let idle = procfs::cpu_percent(&pids, CPU_WINDOW);
    let mut feed = Feed::open(gatherer, ASK).context("opening the feed")?;
    feed.next_tick().context("the first tick")?;
    let watched = procfs::cpu_percent(&pids, CPU_WINDOW);
    let kill = kill_shown(&mut cluster, &mut feed)?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    Ok(json!({
        "scenario": "dashboard",
        "nodes": NODES,
        "actors_per_node": ACTORS,
        "trials": trials,
        "cluster_answer_p50_ms": round2(median(&cluster_ms)),
        "cluster_answer_max_ms": round2(max(&cluster_ms)),
        "actors_first_page_p50_ms": round2(median(&actors_ms)),
        "actors_first_page_max_ms": round2(max(&actors_ms)),
        "page_first_render_p50_ms": figure(&render_ms, median),
        "page_first_render_max_ms": figure(&render_ms, max),
        "page_actors_shown_p50_ms": figure(&page_actors_ms, median),
        "page_actors_shown_max_ms": figure(&page_actors_ms, max),
        "cpu_idle_mean_percent": round2(mean(&idle)),
        "cpu_idle_max_percent": round2(max(&idle)),
        "cpu_watched_gatherer_percent": round2(watched.first().copied().unwrap_or(0.0)),
        "cpu_watched_others_mean_percent": round2(mean(watched.get(1..).unwrap_or(&[]))),
        "cpu_watched_others_max_percent": round2(max(watched.get(1..).unwrap_or(&[]))),
        "kill_to_shown_unreachable_ms": round2(kill.unreachable_ms),
        "detection_to_shown_down_ms": round2(kill.down_after_detection_ms),
        "kill_to_detection_ms": round2(kill.detection_ms),
        "history_full_bytes": shoal_node::history::History::full_estimate(NODES - 1),
    }))
}

fn http(node: &NodeProcess) -> anyhow::Result<std::net::SocketAddr> {
    node.ready
        .http
        .with_context(|| format!("{} serves no HTTP", node.ready.name))
}

/// Waits until `node` runs its idle actors.
fn wait_actors(node: &NodeProcess) -> anyhow::Result<()> {
    let addr = http(node)?;
    shoal_api::wait_until(LIMIT, || {
        let view: NodeView = client::get(addr, "/api/node", ASK).ok()?;
        (view.actors >= ACTORS).then_some(())
    })
    .with_context(|| format!("{} did not start its {ACTORS} actors", node.ready.name))
}

/// Times of `/api/cluster` and of the first actor page sorted by mailbox depth, in ms.
fn first_render_answers(addr: std::net::SocketAddr, trials: usize) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let mut cluster_ms = Vec::new();
    let mut actors_ms = Vec::new();
    for _ in 0..trials {
        let start = Instant::now();
        let view: ClusterView = client::get(addr, "/api/cluster", ASK)?;
        cluster_ms.push(start.elapsed().as_secs_f64() * 1000.0);
        if view.nodes.iter().any(|n| n.report.is_none()) {
            bail!(
                "a node did not answer: {:?}",
                view.nodes.iter().find(|n| n.report.is_none())
            );
        }
        let start = Instant::now();
        let page: ActorPage = client::get(addr, "/api/cluster/actors?sort=mailbox&limit=50", ASK)?;
        actors_ms.push(start.elapsed().as_secs_f64() * 1000.0);
        if page.total < NODES * ACTORS {
            bail!(
                "the actor table counts {} actors, not {}",
                page.total,
                NODES * ACTORS
            );
        }
    }
    Ok((cluster_ms, actors_ms))
}

/// What the kill of the last node showed.
struct KillShown {
    unreachable_ms: f64,
    detection_ms: f64,
    down_after_detection_ms: f64,
}

/// Kills the last node and reads the feed until it shows it down.
fn kill_shown(cluster: &mut BenchCluster, feed: &mut Feed) -> anyhow::Result<KillShown> {
    let victim = cluster.nodes.pop().context("no node to kill")?;
    let name = victim.ready.name.clone();
    let killed_us = shoal_node::now_us();
    victim.signal(nix::sys::signal::Signal::SIGKILL)?;
    let mut unreachable_us = None;
    let down_us = loop {
        let tick = feed.next_tick().context("reading the feed")?;
        let now = shoal_node::now_us();
        match tick.cluster.nodes.iter().find(|n| n.name == name) {
            Some(entry) if entry.report.is_none() => {
                unreachable_us.get_or_insert(now);
            }
            Some(_) => {}
            None if tick.cluster.gone.iter().any(|g| g.name == name) => break now,
            None => {}
        }
        if now - killed_us > LIMIT.as_micros() as u64 {
            bail!("{name} was not shown down within {LIMIT:?}");
        }
    };
    let gatherer = &cluster.nodes[0];
    let detected = gatherer.wait_line(
        |l| matches!(l, Line::NodeDown { node, .. } if *node == name),
        LIMIT,
    );
    let Some(Line::NodeDown { at_us, .. }) = detected else {
        bail!("the gathering node printed no node_down for {name} within {LIMIT:?}");
    };
    let ms = |from: u64, to: u64| to.saturating_sub(from) as f64 / 1000.0;
    Ok(KillShown {
        unreachable_ms: ms(killed_us, unreachable_us.unwrap_or(down_us)),
        detection_ms: ms(killed_us, at_us),
        down_after_detection_ms: ms(at_us, down_us),
    })
}
