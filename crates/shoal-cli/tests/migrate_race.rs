//! Concurrent `migrate` calls of one child, across 3 real `shoal node` processes: each of the
//! two nodes that do not run the child is asked, through its own admin HTTP API and at the
//! same moment, to move the child to itself. A move is one table write that can lose, so a
//! call answers 200 only for a move that happened, with the child's state (two only if one
//! move settled before the other was written); the others say what happened (409:
//! superseded by the move that won, or moving already). Every node then agrees where the
//! child runs, it runs once, where a 200 said, and its count moved with it. A probe node in the test process (no role,
//! so it runs no children) starts the child and reads its count.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

mod common;

use serde_json::Value;
use shoal_node::Node;
use shoal_node::actor::{COUNTER_FACTORY, CounterArgs, CounterGet, CounterMsg};
use shoal_node::distributed::ChildSpec;
use shoal_testkit::{TestCluster, http_request};

const WAIT: Duration = Duration::from_secs(60);
const ID: &str = "raced";
const ROUNDS: usize = 4;

/// The child as process `i`'s replica shows it.
fn child(cluster: &TestCluster, i: usize) -> Option<Value> {
    let sup = common::node_api(cluster, i, "/api/supervisor")?;
    sup["children"]
        .as_array()?
        .iter()
        .find(|c| c["id"] == ID)
        .cloned()
}

/// The owner every process agrees on, once the child is settled there and runs once.
fn settled_owner(cluster: &TestCluster) -> Option<String> {
    let seen: Vec<Value> = (0..3).map(|i| child(cluster, i)).collect::<Option<_>>()?;
    let owner = seen[0]["owner"].as_str()?.to_owned();
    let agree = seen
        .iter()
        .all(|c| c["owner"] == owner.as_str() && c["moving"] == false && !c["pid"].is_null());
    let instances: usize = (0..3)
        .map(|i| common::counters_on(cluster, i))
        .sum::<Option<usize>>()?;
    (agree && instances == 1).then_some(owner)
}

async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every process's log lines about the child, for a failure message.
fn child_logs(cluster: &TestCluster) -> String {
    let mut out = String::new();
    for node in cluster.nodes() {
        let log = node.process().map(|p| p.log_text()).unwrap_or_default();
        for line in log.lines().filter(|l| l.contains(ID)) {
            out.push_str(&format!("{}: {line}\n", node.name()));
        }
    }
    out
}

/// The child's count, read through the probe once the probe's registry replica names the
/// instance on `owner` (it may still name the instance a move stopped).
async fn count(probe: &Node, owner: &str) -> u64 {
    let actors = probe.actors();
    wait_for("the probe's registry names the instance on the owner", || {
        actors.whereis(ID).filter(|pid| pid.node.name.as_str() == owner)
    })
    .await;
    actors
        .call_named(ID, CounterGet, Duration::from_secs(10))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_migrates_to_different_nodes_at_most_one_succeeds_and_the_child_runs_once() {
    let cluster = common::worker_cluster(3).await;
    let probe = common::probe_node(&cluster, "probe", 0).await;
    wait_for("the probe joins", || (probe.members().len() == 3).then_some(())).await;
    let spec = ChildSpec::new(ID, COUNTER_FACTORY, &CounterArgs::default()).unwrap();
    probe
        .distributed_supervisor()
        .start_child(spec.role("worker"))
        .await
        .unwrap();
    let names = cluster.names();
    let mut expected = 0;
    for round in 0..ROUNDS {
        let owner = wait_for("the child settles on one node", || settled_owner(&cluster)).await;
        probe.actors().send_named(ID, CounterMsg::Add(5)).unwrap();
        expected += 5;
        let before = count(&probe, &owner).await;
        assert!(before >= expected, "round {round}: count {before} < {expected}");
        let targets: Vec<usize> = (0..3).filter(|i| names[*i] != owner).collect();
        let token = cluster.admin_token().to_owned();
        let calls: Vec<_> = targets
            .iter()
            .map(|&i| {
                let http = cluster.nodes()[i].process().unwrap().ready.http.unwrap();
                let path = format!("/api/supervisor/migrate?id={ID}&to={}", names[i]);
                let token = token.clone();
                std::thread::spawn(move || http_request(http, "POST", &path, Some(&token), WAIT).unwrap())
            })
            .collect();
        let answers: Vec<(u16, String)> = calls.into_iter().map(|c| c.join().unwrap()).collect();
        eprintln!("round {round}: from {owner}: {answers:?}");
        let ok: Vec<usize> = (0..answers.len()).filter(|k| answers[*k].0 == 200).collect();
        for (status, body) in answers.iter().filter(|a| a.0 != 200) {
            assert_eq!(*status, 409, "round {round}: {body}\n{}", child_logs(&cluster));
            assert!(
                body.contains("superseded by a move to") || body.contains("is moving from"),
                "round {round}: {body}\n{}",
                child_logs(&cluster)
            );
        }
        let now = wait_for("the child settles after the moves", || settled_owner(&cluster)).await;
        let count = count(&probe, &now).await;
        let said_ok: Vec<&String> = ok.iter().map(|k| &names[targets[*k]]).collect();
        if ok.len() > 1 {
            // Only if one move settled before the other was written: the child ran on the
            // first target with its state, then moved on with it.
            eprintln!(
                "round {round}: the moves ran one after the other:\n{}",
                child_logs(&cluster)
            );
        }
        assert!(
            ok.is_empty() || said_ok.contains(&&now),
            "round {round}: {said_ok:?} said 200 but the child runs on {now}: {answers:?}\n{}",
            child_logs(&cluster)
        );
        if !ok.is_empty() {
            assert_eq!(
                count,
                before,
                "round {round}: the count must move with the child: {answers:?}\n{}",
                child_logs(&cluster)
            );
        }
        expected = count;
    }
    probe.shutdown().await;
}
