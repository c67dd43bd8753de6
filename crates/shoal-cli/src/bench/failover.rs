//! `shoal bench failover`: the distributed supervisor on 5 nodes in this process (real
//! sockets on 127.0.0.1, started by `bench/in_process.rs`; a killed node closes its
//! sockets at once, as a `kill -9`ed process does):
//! - a single child whose node is killed: time until it runs elsewhere and every survivor
//!   resolves its name there (a fresh cluster per trial);
//! - 1,000 children: `start_child` rate, then time until all of a killed node's children
//!   run elsewhere, as every survivor sees it;
//! - a graceful leave (what SIGTERM does) of a node with about 200 children: time until all
//!   of them run elsewhere with their state.

use std::time::{Duration, Instant};

use super::in_process::InProcessCluster;
use anyhow::Context;
use serde_json::{Value, json};
use shoal_node::Node;
use shoal_node::actor::{COUNTER_FACTORY, CounterArgs, CounterGet, CounterMsg};
use shoal_node::distributed::{ChildSpec, StartKind};

use super::{median, round2};

const NODES: usize = 5;
const CHILDREN: usize = 1000;
/// A failover waits until the view settled after the last join (see `distributed`).
const SETTLE: Duration = Duration::from_millis(1500);
const LIMIT: Duration = Duration::from_secs(30);

pub(crate) fn run(trials: usize) -> anyhow::Result<Value> {
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async {
        let mut single = Vec::new();
        for trial in 0..trials {
            single.push(single_failover(trial).await?);
            eprintln!("single failover {}/{trials}: {:.2} ms", trial + 1, single[trial]);
        }
        let (start_rate, failover_ms, moved) = many_failover().await?;
        let (drain_ms, drained) = drain().await?;
        Ok(json!({
            "scenario": "failover",
            "nodes": NODES,
            "trials": trials,
            "single_failover_p50_ms": round2(median(&single)),
            "single_failover_max_ms": round2(single.iter().copied().fold(0.0, f64::max)),
            "start_child_per_s": start_rate.round(),
            "children_1000_failover_ms": round2(failover_ms),
            "children_failed_over": moved,
            "drain_200_ms": round2(drain_ms),
            "children_drained": drained,
        }))
    })
}

async fn cluster(prefix: &str) -> anyhow::Result<InProcessCluster> {
    InProcessCluster::start(NODES, prefix).await
}

fn index_of(cluster: &InProcessCluster, node: &shoal_node::NodeName) -> usize {
    (0..NODES)
        .find(|&i| cluster.node(i).local().id.name == *node)
        .unwrap_or(0)
}

/// Checks `done` every 100 µs (a tight spin would take a core from the nodes it measures)
/// until it holds, or fails after [`LIMIT`].
async fn spin_until(what: &str, mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let start = Instant::now();
    while !done() {
        anyhow::ensure!(start.elapsed() < LIMIT, "{what}: not done within {LIMIT:?}");
        tokio::time::sleep(Duration::from_micros(100)).await;
    }
    Ok(())
}

/// Whether every one of `ids` runs on a node other than `gone`, as `node`'s registry says.
fn moved_away(node: &Node, ids: &[String], gone: &shoal_node::NodeName) -> bool {
    ids.iter()
        .all(|id| node.actors().whereis(id).is_some_and(|p| p.node.name != *gone))
}

async fn single_failover(trial: usize) -> anyhow::Result<f64> {
    let mut cluster = cluster(&format!("fo{trial}")).await?;
    let id = "solo";
    let spec = ChildSpec::new(id, COUNTER_FACTORY, &CounterArgs::default())?;
    let started = cluster.node(0).distributed_supervisor().start_child(spec).await?;
    tokio::time::sleep(SETTLE).await;
    let victim = index_of(&cluster, &started.node);
    let survivors: Vec<Node> = (0..NODES)
        .filter(|&i| i != victim)
        .map(|i| cluster.node(i).clone())
        .collect();
    let t0 = Instant::now();
    cluster.kill(victim).await;
    spin_until("single failover", || {
        survivors.iter().all(|n| {
            n.actors()
                .whereis(id)
                .is_some_and(|p| p.node.name != started.node)
        })
    })
    .await?;
    Ok(t0.elapsed().as_secs_f64() * 1e3)
}

/// Starts [`CHILDREN`] counters from node 0, 100 calls at a time; returns the rate.
async fn start_children(node: &Node) -> anyhow::Result<f64> {
    let t0 = Instant::now();
    for chunk in (0..CHILDREN).collect::<Vec<_>>().chunks(100) {
        let starts = chunk.iter().map(|k| {
            let spec = ChildSpec::new(format!("child-{k}"), COUNTER_FACTORY, &CounterArgs::default());
            async move {
                node.distributed_supervisor()
                    .start_child(spec?)
                    .await
                    .map_err(anyhow::Error::from)
            }
        });
        for started in futures_util::future::join_all(starts).await {
            started?;
        }
    }
    Ok(CHILDREN as f64 / t0.elapsed().as_secs_f64())
}

/// The ids of the children `node` sees owned by `owner`.
fn children_of(node: &Node, owner: &shoal_node::NodeName) -> Vec<String> {
    node.distributed_supervisor()
        .which_children()
        .into_iter()
        .filter(|c| c.owner == *owner)
        .map(|c| c.id)
        .collect()
}

async fn many_failover() -> anyhow::Result<(f64, f64, usize)> {
    let mut cluster = cluster("many").await?;
    let rate = start_children(cluster.node(0)).await?;
    let victim = NODES - 1;
    let gone = cluster.node(victim).local().id.name.clone();
    let moving = children_of(cluster.node(0), &gone);
    let survivors: Vec<Node> = (0..victim).map(|i| cluster.node(i).clone()).collect();
    spin_until("children visible", || {
        survivors
            .iter()
            .all(|n| n.distributed_supervisor().count().running == CHILDREN)
    })
    .await?;
    tokio::time::sleep(SETTLE).await;
    let t0 = Instant::now();
    cluster.kill(victim).await;
    spin_until("1000-child failover", || {
        survivors.iter().all(|n| moved_away(n, &moving, &gone))
    })
    .await?;
    Ok((rate, t0.elapsed().as_secs_f64() * 1e3, moving.len()))
}

async fn drain() -> anyhow::Result<(f64, usize)> {
    let cluster = cluster("drain").await?;
    start_children(cluster.node(0)).await?;
    let leaving = cluster.node(NODES - 1).clone();
    let gone = leaving.local().id.name.clone();
    let survivors: Vec<Node> = (0..NODES - 1).map(|i| cluster.node(i).clone()).collect();
    spin_until("children visible", || {
        survivors
            .iter()
            .all(|n| n.distributed_supervisor().count().running == CHILDREN)
    })
    .await?;
    let moving = children_of(&survivors[0], &gone);
    for id in &moving {
        survivors[0].actors().send_named(id, CounterMsg::Add(5))?;
    }
    tokio::time::sleep(SETTLE).await;
    let t0 = Instant::now();
    let leave = tokio::spawn(async move { leaving.leave().await });
    spin_until("drain", || {
        survivors.iter().all(|n| moved_away(n, &moving, &gone))
    })
    .await?;
    let elapsed = t0.elapsed().as_secs_f64() * 1e3;
    leave.await?;
    let handed = survivors[0]
        .distributed_supervisor()
        .which_children()
        .into_iter()
        .filter(|c| moving.contains(&c.id))
        .all(|c| matches!(c.last_start, StartKind::HandedOff { .. }));
    anyhow::ensure!(handed, "some drained children did not start from a handoff");
    for id in &moving {
        let count: u64 = survivors[0]
            .actors()
            .call_named(id, CounterGet, Duration::from_secs(5))
            .await?;
        anyhow::ensure!(count == 5, "{id} lost its count in the drain ({count})");
    }
    Ok((elapsed, moving.len()))
}
