//! The global registry across in-process nodes: replication, cleanup, and conflicts after a
//! partition heals.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use shoal_node::actor::{ConflictPolicy, Echo, EchoCall, EchoReply, ExitReason, RegisterError};
use shoal_testkit::TestCluster;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_replicate_resolve_and_vanish_with_their_actor_or_node() {
    let mut cluster = TestCluster::builder().size(3).start().await.unwrap();
    let (a, b) = (cluster.node(0).clone(), cluster.node(1).clone());
    let echo = a.actors().spawn(Echo::default());
    a.actors().register("svc", echo.pid()).unwrap();
    assert!(
        cluster
            .wait_until(WAIT, |c| (1..3).all(|i| c
                .node(i)
                .actors()
                .whereis("svc")
                .is_some()))
            .await
    );
    assert_eq!(cluster.node(2).actors().whereis("svc").as_ref(), Some(echo.pid()));
    // Taken everywhere; calls by name reach it from any node.
    let other = b.actors().spawn(Echo::default());
    assert_eq!(
        b.actors().register("svc", other.pid()),
        Err(RegisterError::AlreadyRegistered(echo.pid().clone()))
    );
    let reply: EchoReply = b
        .actors()
        .call_named("svc", EchoCall::Received, WAIT)
        .await
        .unwrap();
    assert_eq!(reply, EchoReply::Received(0));
    // The actor stops: the name goes everywhere.
    a.actors().kill(echo.pid()).unwrap();
    assert!(
        cluster
            .wait_until(WAIT, |c| (0..3).all(|i| c
                .node(i)
                .actors()
                .whereis("svc")
                .is_none()))
            .await
    );
    // Its node goes: its names go.
    b.actors().register("on-b", other.pid()).unwrap();
    assert!(
        cluster
            .wait_until(WAIT, |c| c.node(0).actors().whereis("on-b").is_some())
            .await
    );
    cluster.kill(1).await;
    assert!(
        cluster
            .wait_until(WAIT, |c| c.node(0).actors().whereis("on-b").is_none())
            .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_partition_heals_the_earlier_registration_wins_and_the_loser_is_stopped() {
    let cluster = TestCluster::builder().size(3).start().await.unwrap();
    cluster.partition(&[&[0, 1], &[2]]).unwrap();
    assert!(
        cluster
            .wait_until(WAIT, |c| c.nodes()[2].alive_members().len() == 1)
            .await
    );
    let first = cluster.node(0).actors().spawn(Echo::default());
    cluster.node(0).actors().register("leader", first.pid()).unwrap();
    let first_notify = cluster.node(0).actors().spawn(Echo::default());
    cluster
        .node(0)
        .actors()
        .register("quiet", first_notify.pid())
        .unwrap();
    let second = cluster.node(2).actors().spawn(Echo::default());
    let notified = cluster.node(2).actors().spawn(Echo::default());
    cluster.node(2).actors().register("leader", second.pid()).unwrap();
    cluster
        .node(2)
        .actors()
        .register_with("quiet", notified.pid(), ConflictPolicy::Notify)
        .unwrap();
    let loser_down = cluster.node(2).actors().monitor(second.pid());
    cluster.heal().unwrap();
    assert!(cluster.wait_until(WAIT, TestCluster::is_formed).await);
    let down = tokio::time::timeout(WAIT, loser_down).await;
    if down.is_err() {
        for i in 0..3 {
            eprintln!(
                "node {i} {:?} members {:?}",
                cluster.node(i).local().id,
                cluster.nodes()[i].alive_members()
            );
            eprintln!("  registered {:?}", cluster.node(i).actors().registered());
        }
    }
    assert_eq!(
        down.unwrap(),
        ExitReason::NameConflict {
            winner: first.pid().clone()
        }
    );
    assert!(
        cluster
            .wait_until(WAIT, |c| (0..3).all(|i| c
                .node(i)
                .actors()
                .whereis("leader")
                .as_ref()
                == Some(first.pid())))
            .await
    );
    // The loser with the Notify policy keeps running, without the name.
    assert!(
        cluster
            .wait_until(WAIT, |c| c.node(2).actors().whereis("quiet").as_ref()
                == Some(first_notify.pid()))
            .await
    );
    assert!(notified.is_alive());
    let views: Vec<_> = (0..3).map(|i| cluster.node(i).actors().registered()).collect();
    assert!(views.windows(2).all(|w| w[0] == w[1]), "{views:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_groups_replicate_and_drop_members_that_stop_or_lose_their_node() {
    let mut cluster = TestCluster::builder().size(3).start().await.unwrap();
    let mut events = cluster.node(2).actors().subscribe_groups();
    let a = cluster.node(0).actors().spawn(Echo::default());
    let b = cluster.node(1).actors().spawn(Echo::default());
    cluster.node(0).actors().join("workers", a.pid()).unwrap();
    cluster.node(1).actors().join("workers", b.pid()).unwrap();
    let both = vec![a.pid().clone(), b.pid().clone()];
    let mut sorted = both.clone();
    sorted.sort();
    assert!(
        cluster
            .wait_until(WAIT, |c| c.node(2).actors().group_members("workers") == sorted)
            .await
    );
    assert_eq!(
        cluster.node(0).actors().local_group_members("workers"),
        vec![a.pid().clone()]
    );
    assert_eq!(cluster.node(2).actors().groups(), vec![("workers".to_owned(), 2)]);
    let first = tokio::time::timeout(WAIT, events.recv()).await.unwrap().unwrap();
    assert!(first.joined && both.contains(&first.pid));

    cluster.node(0).actors().kill(a.pid()).unwrap();
    assert!(
        cluster
            .wait_until(WAIT, |c| c.node(2).actors().group_members("workers")
                == vec![b.pid().clone()])
            .await
    );
    cluster.kill(1).await;
    assert!(
        cluster
            .wait_until(WAIT, |c| c.node(2).actors().group_members("workers").is_empty())
            .await
    );
    assert!(
        cluster.node(2).actors().registered().is_empty(),
        "memberships are not names"
    );
}
