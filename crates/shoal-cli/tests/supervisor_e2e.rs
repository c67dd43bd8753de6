//! The distributed supervisor across 5 real `shoal node` processes with 1,000 children:
//! `kill -9` of a node, SIGTERM of a node (children move with their state), `migrate`
//! through the HTTP API, and a partition healed with exactly one instance of each child.
//! A probe node in the test process (no role, so it runs no children) starts the children
//! and asks them for their counts.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

mod common;

use nix::sys::signal::Signal;
use shoal_node::actor::{COUNTER_FACTORY, CounterArgs, CounterGet, CounterMsg};
use shoal_node::distributed::ChildSpec;
use shoal_node::{Node, NodeName};
use shoal_testkit::{TestCluster, http_request};

const WAIT: Duration = Duration::from_secs(60);
const CHILDREN: usize = 1000;

fn name(cluster: &TestCluster, i: usize) -> NodeName {
    NodeName::new(cluster.nodes()[i].name()).unwrap()
}

/// Whether every child resolves, from `probe`, to a node in `on`.
fn all_on(probe: &Node, on: &[NodeName]) -> bool {
    (0..CHILDREN).all(|k| {
        probe
            .actors()
            .whereis(&format!("child-{k}"))
            .is_some_and(|p| on.contains(&p.node.name))
    })
}

/// The ids `probe` sees running on `node`.
fn children_on(probe: &Node, node: &NodeName) -> Vec<String> {
    (0..CHILDREN)
        .map(|k| format!("child-{k}"))
        .filter(|id| probe.actors().whereis(id).is_some_and(|p| p.node.name == *node))
        .collect()
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn count(probe: &Node, id: &str) -> u64 {
    probe
        .actors()
        .call_named(id, CounterGet, Duration::from_secs(10))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_children_survive_kill_sigterm_migrate_and_a_partition() {
    let mut cluster = common::worker_cluster(5).await;
    let probe = common::probe_node(&cluster, "probe", 0).await;
    wait_for("the probe joins", || probe.members().len() == 5).await;

    // 1,000 children on the workers.
    let sup = probe.distributed_supervisor();
    for chunk in (0..CHILDREN).collect::<Vec<_>>().chunks(100) {
        let starts = chunk.iter().map(|k| {
            let spec =
                ChildSpec::new(format!("child-{k}"), COUNTER_FACTORY, &CounterArgs::default()).unwrap();
            sup.start_child(spec.role("worker"))
        });
        for started in futures_util::future::join_all(starts).await {
            assert_ne!(started.unwrap().node.as_str(), "probe");
        }
    }
    let workers: Vec<NodeName> = (0..5).map(|i| name(&cluster, i)).collect();
    wait_for("every process sees 1000 children running", || {
        (0..5).all(|i| {
            common::node_api(&cluster, i, "/api/supervisor")
                .is_some_and(|s| s["counts"]["running"] == CHILDREN)
        })
    })
    .await;

    // kill -9 of node 5: all its children run elsewhere and resolve by name.
    let killed = children_on(&probe, &workers[4]);
    assert!(!killed.is_empty());
    cluster.kill(4).await;
    wait_for("the killed node's children run elsewhere", || {
        all_on(&probe, &workers[..4])
    })
    .await;

    // SIGTERM of node 4: its children move with their counts.
    let draining = children_on(&probe, &workers[3]);
    for id in &draining {
        probe.actors().send_named(id, CounterMsg::Add(3)).unwrap();
    }
    for id in &draining {
        assert_eq!(count(&probe, id).await, 3);
    }
    let process = cluster.nodes()[3].process().unwrap();
    process.signal(Signal::SIGTERM).unwrap();
    wait_for("the drained children run elsewhere", || {
        all_on(&probe, &workers[..3])
    })
    .await;
    for id in &draining {
        let info = sup.which_children().into_iter().find(|c| c.id == *id);
        assert_eq!(
            count(&probe, id).await,
            3,
            "{id} lost its count when its node left: {info:?}"
        );
    }
    cluster.kill(3).await;

    // migrate through the HTTP API of node 3: the count moves with the child.
    let id = children_on(&probe, &workers[0]).pop().unwrap();
    let before = count(&probe, &id).await; // 3 if it came from the drained node
    probe.actors().send_named(&id, CounterMsg::Add(9)).unwrap();
    assert_eq!(count(&probe, &id).await, before + 9);
    let http = cluster.nodes()[2].process().unwrap().ready.http.unwrap();
    let path = format!("/api/supervisor/migrate?id={id}&to={}", workers[1]);
    let (status, body) = http_request(http, "POST", &path, Some(cluster.admin_token()), WAIT).unwrap();
    assert_eq!(status, 200, "{body}");
    wait_for("the migrated child resolves on its new node", || {
        probe
            .actors()
            .whereis(&id)
            .is_some_and(|p| p.node.name == workers[1])
    })
    .await;
    assert_eq!(
        count(&probe, &id).await,
        before + 9,
        "the count moved with the child"
    );

    // Partition {1, 2, probe} | {3}: the minority isolates itself, the majority runs all;
    // after the heal, every child runs exactly once.
    cluster.partition(&[&[0, 1], &[2]]).unwrap();
    probe.partition_from(vec![workers[2].clone()]);
    wait_for(
        "the minority isolates itself and the majority runs every child",
        || {
            common::node_api(&cluster, 2, "/api/node").is_some_and(|n| n["isolated"] == true)
                && all_on(&probe, &workers[..2])
        },
    )
    .await;
    cluster.heal().unwrap();
    probe.heal();
    wait_for("after the heal, exactly one instance of each child", || {
        let instances: Option<usize> = (0..3).map(|i| common::counters_on(&cluster, i)).sum();
        instances == Some(CHILDREN)
            && all_on(&probe, &workers[..3])
            && (0..3)
                .all(|i| common::node_api(&cluster, i, "/api/node").is_some_and(|n| n["isolated"] == false))
    })
    .await;
    probe.shutdown().await;
}
