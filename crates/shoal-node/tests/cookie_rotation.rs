//! Rotating a cluster's cookie without stopping it: three rolling restarts, each node given
//! a cookie of several lines (`old` + `new`, then `new` + `old`, then `new`), joining through
//! the others' addresses. The cluster is whole after every restart; at the end a node that
//! holds only the old secret is refused. (Same-host discovery under each secret is tested in
//! `discovery/local.rs`: nodes of one process skip each other's entries.)

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use shoal_node::Node;

const WAIT: Duration = Duration::from_secs(20);
const NAMES: [&str; 3] = ["rot-a", "rot-b", "rot-c"];

async fn start(name: &str, cookie: &str, others: &[Node]) -> Node {
    Node::builder()
        .name(name)
        .cookie(cookie)
        .seeds(others.iter().map(|n| n.listen_addr().to_string()))
        .local_discovery(None)
        .start()
        .await
        .unwrap()
}

/// Waits until every node sees the other two.
async fn whole(nodes: &[Node], step: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !nodes.iter().all(|n| n.members().len() == nodes.len() - 1) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{step}: not whole: {:?}",
            nodes.iter().map(|n| n.members().len()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_changes_its_cookie_with_rolling_restarts_and_then_refuses_the_old_one() {
    let mut nodes: Vec<Node> = Vec::new();
    for name in NAMES {
        let node = start(name, "old-secret", &nodes).await;
        nodes.push(node);
    }
    whole(&nodes, "start").await;
    for cookie in ["old-secret\nnew-secret", "new-secret\nold-secret", "new-secret"] {
        for i in 0..nodes.len() {
            nodes[i].leave().await;
            let others: Vec<Node> = (0..nodes.len())
                .filter(|&j| j != i)
                .map(|j| nodes[j].clone())
                .collect();
            nodes[i] = start(NAMES[i], cookie, &others).await;
            whole(&nodes, &format!("{cookie:?}, {} restarted", NAMES[i])).await;
        }
    }
    // Only the new secret is held now: a node with the old one fails the handshake.
    let stale = start("rot-stale", "old-secret", &nodes).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while nodes[0].stats().handshake_failures == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stale node was never refused"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stale.members().is_empty(), "{:?}", stale.members());
    assert!(nodes.iter().all(|n| n.members().len() == 2));
}
