//! Issue 16, item 13: monitors report only what happened to the actor. After a partition
//! heals, the side that was cut off gossips the members it lost as down, and SWIM's down is
//! final for a life, so members that never lost each other take a new life (they renew). Their
//! processes never stopped: a monitor across them must not report `NodeDown`.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use shoal_node::NodeEvent;
use shoal_node::actor::Echo;
use shoal_proto::{DownReason, Event};
use shoal_testkit::TestCluster;
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_after_a_heal_fires_no_monitor_of_a_live_actor() {
    let cluster = TestCluster::builder().size(3).start().await.unwrap();
    let (watcher, host) = (cluster.node(0).clone(), cluster.node(1).clone());
    let echo = host.actors().spawn(Echo::default());
    let down = watcher.actors().monitor(echo.pid());
    let mut heard = [watcher.subscribe(), host.subscribe()];
    let lives = |c: &TestCluster| (0..2).map(|i| c.node(i).local().id.creation).collect::<Vec<_>>();
    let before = lives(&cluster);
    // n2 alone on one side; n0 and n1 keep each other the whole time.
    cluster.partition(&[&[0, 1], &[2]]).unwrap();
    assert!(
        cluster
            .wait_until(WAIT, |c| c.nodes()[2].alive_members().len() == 1
                && c.nodes()[0].alive_members().len() == 2)
            .await
    );
    cluster.heal().unwrap();
    // n2 comes back as a new life whose view still holds n0 and n1 down: they renew.
    let renewed = cluster
        .wait_until(WAIT, |c| {
            TestCluster::is_formed(c) && lives(c).iter().zip(&before).any(|(now, was)| now > was)
        })
        .await;
    assert!(
        renewed,
        "the heal renewed neither n0 nor n1; lives {:?} -> {:?}",
        before,
        lives(&cluster)
    );
    assert!(cluster.wait_until(WAIT, TestCluster::is_formed).await);
    // Quiet: formed, with no membership event for 3 s (a renewed node that kept the links of
    // its old life declared its peers down a second after the heal).
    let mut seen: Vec<NodeEvent> = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        let quiet = tokio::time::timeout(Duration::from_secs(3), next_event(&mut heard)).await;
        match quiet {
            Ok(Some(e)) => seen.push(e),
            Ok(None) => break,
            Err(_) if TestCluster::is_formed(&cluster) => break,
            Err(_) => {}
        }
    }
    let cut = cluster.node(2).local().id.name.clone();
    let false_downs: Vec<_> = seen
        .iter()
        .filter(|e| matches!(e.event, Event::NodeDown { reason: DownReason::Failed | DownReason::Crashed, ref id } if id.name != cut))
        .collect();
    assert!(
        false_downs.is_empty(),
        "n0 and n1 never lost each other, yet: {false_downs:?}"
    );
    // The actor never stopped and its node never lost n0: no Down may have arrived.
    let fired = tokio::time::timeout(Duration::from_millis(500), down).await;
    assert!(fired.is_err(), "monitor fired for a live actor: {fired:?}");
    assert!(echo.is_alive());
}

/// The next event either node publishes (`None` once both stopped).
async fn next_event(heard: &mut [broadcast::Receiver<NodeEvent>; 2]) -> Option<NodeEvent> {
    let [a, b] = heard;
    loop {
        let got = tokio::select! {
            e = a.recv() => e,
            e = b.recv() => e,
        };
        match got {
            Ok(e) => return Some(e),
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}
