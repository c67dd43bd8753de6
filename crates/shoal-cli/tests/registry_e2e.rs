//! The global registry across 5 real `shoal node` processes: 10,000 names visible everywhere,
//! a killed node's names gone everywhere, and a partition healed with one winner per name.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

mod common;

use serde_json::Value;
use shoal_node::actor::{EchoCall, EchoReply, ExitReason, Pid};
use shoal_node::{Node, NodeName};
use shoal_testkit::{TestCluster, http_get};

const WAIT: Duration = Duration::from_secs(30);

fn registered_names(cluster: &TestCluster, i: usize) -> Option<u64> {
    let http = cluster.nodes()[i].process()?.ready.http?;
    let (_, body) = http_get(http, "/api/node").ok()?;
    serde_json::from_str::<Value>(&body).ok()?["registered_names"].as_u64()
}

fn holder(cluster: &TestCluster, i: usize, name: &str) -> Option<String> {
    let http = cluster.nodes()[i].process()?.ready.http?;
    let (_, body) = http_get(http, "/api/registry").ok()?;
    let entries: Value = serde_json::from_str(&body).ok()?;
    entries.as_array()?.iter().find(|e| e["name"] == name)?["pid_text"]
        .as_str()
        .map(str::to_owned)
}

async fn register(probe: &Node, echo: &Pid, names: Vec<String>) -> Vec<(String, Pid)> {
    match probe
        .actors()
        .call(echo, EchoCall::Register(names), WAIT)
        .await
        .unwrap()
    {
        EchoReply::Registered(taken) => taken,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_names_replicate_vanish_with_their_node_and_resolve_after_a_partition() {
    let mut cluster = TestCluster::builder()
        .size(5)
        .binary(env!("CARGO_BIN_EXE_shoal"))
        .start()
        .await
        .unwrap();
    let names = cluster.names();
    let probe_a = common::probe_node(&cluster, "probe-a", 0).await;

    // 2,000 names through an echo on each node.
    let mut echoes = Vec::new();
    for (i, node) in names.iter().enumerate() {
        let echo = common::echo_on(&probe_a, node).await;
        let batch: Vec<String> = (0..2000).map(|k| format!("name-{i}-{k}")).collect();
        assert!(register(&probe_a, &echo, batch).await.is_empty());
        echoes.push(echo);
    }
    let everywhere = |c: &TestCluster| (0..5).all(|i| registered_names(c, i) == Some(10_000));
    assert!(
        cluster.wait_until(WAIT, everywhere).await,
        "10,000 names not visible on every node"
    );

    // kill -9 of node 5: its 2,000 names vanish on every survivor.
    cluster.kill(4).await;
    let cleaned = |c: &TestCluster| (0..4).all(|i| registered_names(c, i) == Some(8_000));
    assert!(
        cluster.wait_until(WAIT, cleaned).await,
        "the killed node's names linger"
    );

    // Partition {1,2,probe-a} / {3,4,probe-b}; the same name registered on both sides.
    let probe_b = common::probe_node(&cluster, "probe-b", 2).await;
    assert!(cluster.wait_until(WAIT, |_| probe_b.members().len() >= 4).await);
    let side_a: Vec<String> = vec![names[0].clone(), names[1].clone(), "probe-a".into()];
    let side_b: Vec<String> = vec![names[2].clone(), names[3].clone(), "probe-b".into()];
    for i in 0..2 {
        cluster.cut(i, &side_b).unwrap();
    }
    for i in 2..4 {
        cluster.cut(i, &side_a).unwrap();
    }
    probe_a.partition_from(side_b.iter().map(|n| NodeName::new(n.as_str()).unwrap()));
    probe_b.partition_from(side_a.iter().map(|n| NodeName::new(n.as_str()).unwrap()));
    // Each side: its two cluster nodes and its probe.
    let split =
        |c: &TestCluster| c.nodes()[0].alive_members().len() == 3 && c.nodes()[2].alive_members().len() == 3;
    assert!(
        cluster.wait_until(WAIT, split).await,
        "the partition did not split the cluster"
    );

    let winner = register(&probe_a, &echoes[0], vec!["contested".into()]).await;
    assert!(winner.is_empty());
    let loser_echo = common::echo_on(&probe_b, &names[2]).await;
    assert!(
        register(&probe_b, &loser_echo, vec!["contested".into()])
            .await
            .is_empty()
    );
    let loser_down = probe_b.actors().monitor(&loser_echo);

    cluster.heal().unwrap();
    probe_a.heal();
    probe_b.heal();
    // The loser is stopped with NameConflict. The monitor may instead report NodeDown: on
    // heal, node 3 learns that side A declared it down and rejoins as a new life, which
    // drops probe-b's link to its old life (the in-process registry test checks the reason
    // without that).
    let reason = tokio::time::timeout(WAIT, loser_down).await.unwrap();
    assert!(
        matches!(&reason, ExitReason::NameConflict { winner } if *winner == echoes[0])
            || reason == ExitReason::NodeDown,
        "{reason:?}"
    );
    let agreed = |c: &TestCluster| (0..4).all(|i| holder(c, i, "contested") == Some(echoes[0].to_string()));
    assert!(
        cluster.wait_until(WAIT, agreed).await,
        "the nodes do not agree on the winner"
    );
    let mut gone = ExitReason::NodeDown;
    for _ in 0..100 {
        gone = tokio::time::timeout(WAIT, probe_b.actors().monitor(&loser_echo))
            .await
            .unwrap();
        if gone != ExitReason::NodeDown {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gone, ExitReason::NoProc, "the losing actor still runs");
    probe_a.shutdown().await;
    probe_b.shutdown().await;
}
