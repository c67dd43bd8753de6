//! `shoal bench registry`: 5 nodes in this process (real sockets on 127.0.0.1, started by
//! `bench/in_process.rs`): time until a registration is visible on every other node,
//! registrations per second (one caller, and one per node), local lookups per second, and
//! time until a killed node's names are gone everywhere.

use std::time::{Duration, Instant};

use super::in_process::InProcessCluster;
use anyhow::Context;
use serde_json::{Value, json};
use shoal_node::actor::{Echo, EchoCall, EchoReply, Pid};

use super::{median, round2};

const VISIBILITY_TRIALS: usize = 200;
const REGISTRATIONS: usize = 10_000;
const LOOKUP_RUN: Duration = Duration::from_secs(1);
const NODES: usize = 5;

pub(crate) fn run() -> anyhow::Result<Value> {
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async {
        let mut cluster = InProcessCluster::start(NODES, "reg").await?;
        // On a worker thread, so wake-ups stay on the runtime's threads.
        let (visible, register_one, register_many, lookups, (joins_first, joins_one, joins_distinct)) = {
            let nodes: Vec<shoal_node::Node> = (0..NODES).map(|i| cluster.node(i).clone()).collect();
            tokio::spawn(async move {
                let visible = visibility(&nodes).await;
                let register_one = register_rate(&nodes[..1], "one").await;
                let register_many = register_rate(&nodes, "many").await;
                let lookups = lookup_rate(&nodes[1]);
                // The first round runs on a cold heap (every node's tables grow, the
                // allocator maps fresh pages); it is reported, and the measured rounds
                // follow it, as a node that has been running would see them.
                let joins_first = joins_visible(&nodes, |_| "warm-up".to_owned()).await;
                let joins_one = joins_visible(&nodes, |_| "one-group".to_owned()).await;
                let joins_distinct = joins_visible(&nodes, |k| format!("group-{k}")).await;
                (
                    visible,
                    register_one,
                    register_many,
                    lookups,
                    (joins_first, joins_one, joins_distinct),
                )
            })
            .await?
        };
        let gone_ms = killed_names_gone(&mut cluster).await?;
        let mut sorted = visible.clone();
        sorted.sort_by(f64::total_cmp);
        Ok(json!({
            "scenario": "registry",
            "nodes": NODES,
            "visible_p50_us": round2(median(&sorted)),
            "visible_p99_us": round2(sorted[sorted.len() * 99 / 100]),
            "register_per_s": register_one.round(),
            "register_per_s_one_caller_per_node": register_many.round(),
            "lookup_per_s": lookups.round(),
            "joins_10k_visible_ms": round2(joins_one),
            "joins_10k_first_round_visible_ms": round2(joins_first),
            "joins_10k_distinct_groups_visible_ms": round2(joins_distinct),
            "killed_node_names_gone_ms": round2(gone_ms),
        }))
    })
}

/// Registers one fresh name per trial on node 0 and spins until every other node resolves it.
async fn visibility(nodes: &[shoal_node::Node]) -> Vec<f64> {
    let actor = nodes[0].actors().spawn(Echo::default());
    let mut samples = Vec::with_capacity(VISIBILITY_TRIALS);
    for trial in 0..VISIBILITY_TRIALS {
        let name = format!("visible-{trial}");
        let start = Instant::now();
        if nodes[0].actors().register(&name, actor.pid()).is_err() {
            continue;
        }
        while !nodes[1..].iter().all(|n| n.actors().whereis(&name).is_some()) {
            tokio::task::yield_now().await;
        }
        samples.push(start.elapsed().as_secs_f64() * 1e6);
    }
    samples
}

/// Registrations per second: `REGISTRATIONS` names spread over one task per node given.
async fn register_rate(nodes: &[shoal_node::Node], label: &str) -> f64 {
    let per_node = REGISTRATIONS / nodes.len();
    let start = Instant::now();
    let tasks: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let node = node.clone();
            let label = label.to_owned();
            tokio::spawn(async move {
                let actor = node.actors().spawn(Echo::default());
                let pid: Pid = actor.pid().clone();
                for k in 0..per_node {
                    let _ = node.actors().register(&format!("{label}-{i}-{k}"), &pid);
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    (per_node * nodes.len()) as f64 / start.elapsed().as_secs_f64()
}

/// 10,000 actors on node 1 join groups (named by `group_of(k)`); milliseconds from the first
/// join until node 2 lists every membership.
async fn joins_visible(nodes: &[shoal_node::Node], group_of: impl Fn(usize) -> String) -> f64 {
    const JOINS: usize = 10_000;
    let actors: Vec<Pid> = (0..JOINS)
        .map(|_| nodes[0].actors().spawn(Echo::default()).pid().clone())
        .collect();
    let groups: Vec<String> = (0..JOINS).map(&group_of).collect();
    // Time the joins, not the actors' start: once the last one answers, all have started.
    let _ = nodes[0]
        .actors()
        .call::<EchoCall, EchoReply>(&actors[JOINS - 1], EchoCall::Received, Duration::from_secs(10))
        .await;
    let start = Instant::now();
    for (pid, group) in actors.iter().zip(&groups) {
        let _ = nodes[0].actors().join(group, pid);
    }
    // Deltas from one owner apply in order, so the last join seen means all are; counting
    // that group's members stays cheap (a full listing per poll would slow what it measures).
    let remote = nodes[1].actors();
    let last = &groups[JOINS - 1];
    let expected = groups.iter().filter(|g| *g == last).count();
    while remote.group_size(last) < expected {
        tokio::task::yield_now().await;
    }
    let ms = start.elapsed().as_secs_f64() * 1e3;
    for pid in &actors {
        let _ = nodes[0].actors().kill(pid);
    }
    // The next measurement starts from a quiet cluster, not during these leaves.
    while !nodes.iter().all(|n| n.actors().groups().is_empty()) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    ms
}

/// Local lookups per second on one node, one thread.
fn lookup_rate(node: &shoal_node::Node) -> f64 {
    let actors = node.actors();
    let names: Vec<String> = (0..1000).map(|k| format!("one-0-{k}")).collect();
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < LOOKUP_RUN {
        for name in &names {
            std::hint::black_box(actors.whereis(name));
        }
        done += names.len() as u64;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

/// Node 5 registers 1,000 names, then stops without a goodbye: time until no other node
/// resolves any of them.
async fn killed_names_gone(cluster: &mut InProcessCluster) -> anyhow::Result<f64> {
    let victim = cluster.node(NODES - 1).clone();
    let actor = victim.actors().spawn(Echo::default());
    for k in 0..1000 {
        let _ = victim.actors().register(&format!("victim-{k}"), actor.pid());
    }
    let others: Vec<shoal_node::Node> = (0..NODES - 1).map(|i| cluster.node(i).clone()).collect();
    let seen = |name: &str| others.iter().all(|n| n.actors().whereis(name).is_some());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen("victim-999") {
        if Instant::now() >= deadline {
            let counts: Vec<usize> = others.iter().map(|n| n.actors().registered_count()).collect();
            anyhow::bail!(
                "the victim's names never replicated (victim holds {}, others {counts:?})",
                victim.actors().registered_count()
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let start = Instant::now();
    cluster.kill(NODES - 1).await;
    let gone = |n: &shoal_node::Node| (0..1000).all(|k| n.actors().whereis(&format!("victim-{k}")).is_none());
    while !others.iter().all(gone) {
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(10),
            "the killed node's names linger"
        );
        tokio::task::yield_now().await;
    }
    Ok(start.elapsed().as_secs_f64() * 1e3)
}
