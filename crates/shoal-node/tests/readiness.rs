//! `Node::ready`: what an orchestrator's readiness probe asks. A node is ready once it found
//! its cluster with enough live members, not while the resolver isolates it, and never again
//! once it leaves.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use shoal_node::{Node, NotReady};
use shoal_testkit::TestCluster;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_is_ready_with_enough_members_and_not_while_isolated() {
    let cluster = TestCluster::builder().size(3).start().await.unwrap();
    assert!(
        cluster
            .wait_until(WAIT, |c| (0..3).all(|i| c.node(i).ready(3).is_ok()))
            .await
    );
    assert_eq!(
        cluster.node(0).ready(4),
        Err(NotReady::TooFewMembers { live: 3, min: 4 })
    );
    // Cut off alone, n0's side is the minority: isolated, so not ready even for a minimum of 1,
    // while the majority is ready for 2 but not 3.
    cluster.partition(&[&[0], &[1, 2]]).unwrap();
    assert!(
        cluster
            .wait_until(WAIT, |c| c.node(0).ready(1) == Err(NotReady::Isolated))
            .await,
        "n0: {:?}",
        cluster.node(0).ready(1)
    );
    let two_of_three = Err(NotReady::TooFewMembers { live: 2, min: 3 });
    assert!(
        cluster
            .wait_until(WAIT, |c| c.node(1).ready(3) == two_of_three)
            .await,
        "n1: {:?}",
        cluster.node(1).ready(3)
    );
    assert_eq!(cluster.node(1).ready(2), Ok(()));
    cluster.heal().unwrap();
    assert!(
        cluster
            .wait_until(WAIT, |c| (0..3).all(|i| c.node(i).ready(3).is_ok()))
            .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaving_node_is_not_ready_and_a_stopped_one_says_so() {
    let cluster = TestCluster::builder().size(2).start().await.unwrap();
    let node = cluster.node(1).clone();
    assert!(cluster.wait_until(WAIT, |c| c.node(1).ready(2).is_ok()).await);
    let leaving = tokio::spawn({
        let node = node.clone();
        async move { node.leave().await }
    });
    // Not ready from the moment the leave starts until the node is gone.
    let mut seen = Vec::new();
    while !leaving.is_finished() {
        seen.push(node.ready(1));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    leaving.await.unwrap();
    let first = seen.iter().position(Result::is_err).unwrap();
    assert!(
        seen[first..].iter().all(Result::is_err),
        "ready again while leaving: {seen:?}"
    );
    assert!(seen.contains(&Err(NotReady::Leaving)), "{seen:?}");
    assert_eq!(node.ready(1), Err(NotReady::Stopped));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_seed_has_not_answered_yet_is_joining() {
    // A seed that accepts connections and never speaks: the dial neither links nor fails
    // until the handshake times out, so the node is still finding its cluster.
    let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let seed = mute.local_addr().unwrap().to_string();
    let node = Node::builder()
        .name("joiner")
        .cookie("readiness-test")
        .listen("127.0.0.1:0".parse().unwrap())
        .seeds([seed])
        .start()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while node.ready(1) != Err(NotReady::Joining) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(node.ready(1), Err(NotReady::Joining));
    node.shutdown().await;
    drop(mute);
}
