//! Cluster singletons: one instance, on the oldest member; it moves when that member goes.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use shoal_node::actor::Echo;
use shoal_testkit::TestCluster;

const WAIT: Duration = Duration::from_secs(20);

/// Instances of the singleton on the running nodes among `nodes`.
fn instances_on(cluster: &TestCluster, nodes: std::ops::Range<usize>) -> usize {
    cluster.nodes()[nodes]
        .iter()
        .filter_map(|n| n.node())
        .map(|n| {
            n.actors()
                .list()
                .iter()
                .filter(|a| a.name.as_deref() == Some("clock"))
                .count()
        })
        .sum()
}

/// Instances of the singleton on every running node.
fn instances(cluster: &TestCluster) -> usize {
    instances_on(cluster, 0..cluster.nodes().len())
}

/// Exactly one instance runs, and every node of `viewers` resolves its name to `host`.
fn runs_on(cluster: &TestCluster, host: &shoal_node::NodeId, viewers: std::ops::Range<usize>) -> bool {
    instances(cluster) == 1
        && viewers.into_iter().all(|i| {
            cluster
                .node(i)
                .actors()
                .whereis("the-clock")
                .is_some_and(|p| p.node == *host)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_singleton_runs_once_on_the_oldest_member_and_moves_when_it_dies() {
    let mut cluster = TestCluster::builder().size(3).start().await.unwrap();
    for i in 0..3 {
        let node = cluster.node(i);
        node.actors().register_factory("clock", |()| Ok(Echo::default()));
        node.singleton("the-clock", "clock", &(), None).unwrap();
    }
    let oldest = cluster.node(0).local().process_id();
    assert!((0..3).all(|i| cluster.node(i).leader(None) == Some(oldest.clone())));
    let placed = |c: &TestCluster| runs_on(c, &oldest, 0..3);
    assert!(
        cluster.wait_until(WAIT, placed).await,
        "the singleton never ran on the oldest member"
    );

    let mut leader_watch = cluster.node(2).watch_leader(None);
    cluster.kill(0).await;
    let next = cluster.node(1).local().process_id();
    let moved = |c: &TestCluster| runs_on(c, &next, 1..3);
    assert!(
        cluster.wait_until(WAIT, moved).await,
        "the singleton did not move to the next oldest"
    );
    tokio::time::timeout(WAIT, leader_watch.wait_for(|l| *l == Some(next.clone())))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_minority_side_of_a_partition_isolates_itself_and_the_majority_runs_the_singleton() {
    let cluster = TestCluster::builder().size(3).start().await.unwrap();
    for i in 0..3 {
        let node = cluster.node(i);
        node.actors().register_factory("clock", |()| Ok(Echo::default()));
        node.singleton("the-clock", "clock", &(), None).unwrap();
    }
    assert!(cluster.wait_until(WAIT, |c| instances_on(c, 0..1) == 1).await);

    // Node 1 (the oldest, running the singleton) is cut off alone: it isolates itself and
    // stops its instance; the majority starts one. The majority never runs two.
    cluster.partition(&[&[0], &[1, 2]]).unwrap();
    let mut majority_max = 0;
    let split = cluster
        .wait_until(Duration::from_secs(30), |c| {
            majority_max = majority_max.max(instances_on(c, 1..3));
            c.node(0).is_isolated() && instances_on(c, 0..1) == 0 && instances_on(c, 1..3) == 1
        })
        .await;
    assert!(
        split,
        "isolated: {}, instances {}/{}",
        cluster.node(0).is_isolated(),
        instances_on(&cluster, 0..1),
        instances_on(&cluster, 1..3)
    );
    assert!(!cluster.node(1).is_isolated() && !cluster.node(2).is_isolated());
    assert_eq!(majority_max, 1, "the majority side ran the singleton twice");

    // Healed: node 1 rejoins, is no longer isolated, and (being the oldest) gets the
    // singleton back; one instance in all.
    // Through the heal the cluster is whole again: never two instances anywhere.
    cluster.heal().unwrap();
    let mut total_max = 0;
    let back = cluster
        .wait_until(Duration::from_secs(30), |c| {
            total_max = total_max.max(instances_on(c, 0..3));
            !c.node(0).is_isolated() && instances_on(c, 0..1) == 1 && instances_on(c, 1..3) == 0
        })
        .await;
    assert_eq!(total_max, 1, "two instances ran after the heal");
    assert!(
        back,
        "the singleton did not return to the oldest member after the heal"
    );
}
