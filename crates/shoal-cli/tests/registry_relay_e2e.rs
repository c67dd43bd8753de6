//! A non-transitive partition across 3 real `shoal node` processes (issue 16, item 14): the
//! cut drops only n2 <-> n3, so both stay alive (indirect probes through n1). Names registered
//! and groups joined on n2 and n3 during the cut, and their removal, must reach the other side
//! through n1: nodes that reach each other, directly or not, agree on names and groups.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

mod common;

use bytes::Bytes;
use serde_json::Value;
use shoal_node::actor::{EchoCall, EchoMsg, EchoReply, ExitReason, Pid, SendError};
use shoal_node::{Node, NodeName};
use shoal_testkit::{TestCluster, http_get};

const WAIT: Duration = Duration::from_secs(30);

/// Node `i`'s `/api/registry` as (name, holder) pairs, sorted.
fn names_on(cluster: &TestCluster, i: usize) -> Option<Vec<(String, String)>> {
    let http = cluster.nodes()[i].process()?.ready.http?;
    let (_, body) = http_get(http, "/api/registry").ok()?;
    let entries: Value = serde_json::from_str(&body).ok()?;
    let mut names: Vec<(String, String)> = entries
        .as_array()?
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?.to_owned(), e["pid_text"].as_str()?.to_owned())))
        .collect();
    names.sort();
    Some(names)
}

/// Node `i`'s `/api/groups` as (group, members) pairs.
fn groups_on(cluster: &TestCluster, i: usize) -> Option<Vec<(String, Vec<String>)>> {
    let http = cluster.nodes()[i].process()?.ready.http?;
    let (_, body) = http_get(http, "/api/groups").ok()?;
    let groups: Value = serde_json::from_str(&body).ok()?;
    groups
        .as_array()?
        .iter()
        .map(|g| {
            let members = g["members"]
                .as_array()?
                .iter()
                .map(|m| m.as_str().map(str::to_owned));
            Some((
                g["group"].as_str()?.to_owned(),
                members.collect::<Option<Vec<_>>>()?,
            ))
        })
        .collect()
}

/// Whether node `i` lists `peer` as alive but has no link to it.
fn alive_unlinked(cluster: &TestCluster, i: usize, peer: &str) -> bool {
    let Some(http) = cluster.nodes()[i].process().and_then(|p| p.ready.http) else {
        return false;
    };
    let Some(members) = http_get(http, "/api/members")
        .ok()
        .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
    else {
        return false;
    };
    members
        .as_array()
        .into_iter()
        .flatten()
        .any(|m| m["name"] == peer && m["state"] == "alive" && m["linked"] == false)
}

/// A node of the test's own, joined through node `seed`, cut from `cut`.
async fn probe(cluster: &TestCluster, name: &str, seed: usize, cut: &[&str]) -> Node {
    let node = common::probe_node(cluster, name, seed).await;
    node.partition_from(cut.iter().map(|n| NodeName::new(*n).unwrap()));
    node
}

async fn call(probe: &Node, echo: &Pid, call: EchoCall) -> EchoReply {
    probe.actors().call(echo, call, WAIT).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_groups_reach_across_a_cut_that_leaves_a_path_through_n1() {
    let cluster = TestCluster::builder()
        .size(3)
        .binary(env!("CARGO_BIN_EXE_shoal"))
        .start()
        .await
        .unwrap();
    let names = cluster.names();
    let (n2, n3) = (names[1].clone(), names[2].clone());
    // n2 <-> n3 is cut, and so is every other path that avoids n1: each probe reaches n1 and
    // one side only.
    cluster.cut(1, &[n3.clone(), "probe-3".into()]).unwrap();
    cluster.cut(2, &[n2.clone(), "probe-2".into()]).unwrap();
    let probe2 = probe(&cluster, "probe-2", 0, &[&n3, "probe-3"]).await;
    let probe3 = probe(&cluster, "probe-3", 0, &[&n2, "probe-2"]).await;
    let cut = |c: &TestCluster| alive_unlinked(c, 1, &n3) && alive_unlinked(c, 2, &n2);
    assert!(
        cluster.wait_until(WAIT, cut).await,
        "n2 and n3 do not list each other as alive without a link"
    );

    let echo2 = common::echo_on(&probe2, &n2).await;
    let echo3 = common::echo_on(&probe3, &n3).await;
    let taken = call(
        &probe2,
        &echo2,
        EchoCall::Register(vec!["two.a".into(), "two.b".into()]),
    )
    .await;
    assert_eq!(taken, EchoReply::Registered(vec![]));
    let taken = call(&probe3, &echo3, EchoCall::Register(vec!["three.a".into()])).await;
    assert_eq!(taken, EchoReply::Registered(vec![]));
    call(&probe2, &echo2, EchoCall::Join(vec!["workers".into()])).await;
    call(&probe3, &echo3, EchoCall::Join(vec!["workers".into()])).await;

    let mut expected_names = vec![
        ("three.a".to_owned(), echo3.to_string()),
        ("two.a".to_owned(), echo2.to_string()),
        ("two.b".to_owned(), echo2.to_string()),
    ];
    let mut workers = vec![echo2.to_string(), echo3.to_string()];
    workers.sort();
    let expected_groups = vec![("workers".to_owned(), workers)];
    let agree = |c: &TestCluster, names: &Vec<(String, String)>, groups: &Vec<(String, Vec<String>)>| {
        (0..3).all(|i| names_on(c, i).as_ref() == Some(names) && groups_on(c, i).as_ref() == Some(groups))
    };
    let everywhere = cluster
        .wait_until(WAIT, |c| agree(c, &expected_names, &expected_groups))
        .await;
    assert!(
        everywhere,
        "names or groups registered during the cut differ: {:?} / {:?}",
        (0..3).map(|i| names_on(&cluster, i)).collect::<Vec<_>>(),
        (0..3).map(|i| groups_on(&cluster, i)).collect::<Vec<_>>(),
    );
    assert!(
        cut(&cluster),
        "the cut no longer holds, so the check proved nothing"
    );

    // A name resolves on a node without a link to its holder, but sends go over links only:
    // they fail at once, as to a node that is down (nothing is relayed but the registry).
    let resolves = |_: &TestCluster| probe2.actors().whereis("three.a").as_ref() == Some(&echo3);
    assert!(
        cluster.wait_until(WAIT, resolves).await,
        "probe-2 never learned three.a"
    );
    let sent = probe2
        .actors()
        .send_named("three.a", EchoMsg::Data(Bytes::from_static(b"x")));
    assert_eq!(sent, Err(SendError::NodeDown(echo3.node.name.clone())));

    // Removals cross too: n3's echo stops, its name and membership leave n2's view.
    probe3
        .actors()
        .send(&echo3, EchoMsg::Exit(ExitReason::Normal))
        .unwrap();
    expected_names.retain(|(name, _)| name != "three.a");
    let expected_groups = vec![("workers".to_owned(), vec![echo2.to_string()])];
    let removed = cluster
        .wait_until(WAIT, |c| agree(c, &expected_names, &expected_groups))
        .await;
    assert!(
        removed,
        "a removal during the cut did not cross: {:?} / {:?}",
        (0..3).map(|i| names_on(&cluster, i)).collect::<Vec<_>>(),
        (0..3).map(|i| groups_on(&cluster, i)).collect::<Vec<_>>(),
    );
    assert!(
        cut(&cluster),
        "the cut no longer holds, so the check proved nothing"
    );
    probe2.shutdown().await;
    probe3.shutdown().await;
}
