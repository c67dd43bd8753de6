//! The test kit's `TestCluster` over real `shoal node` processes.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use shoal_testkit::TestCluster;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_cluster_partitions_heals_pauses_and_loses_a_killed_node() {
    let mut cluster = TestCluster::builder()
        .size(3)
        .binary(env!("CARGO_BIN_EXE_shoal"))
        .start()
        .await
        .unwrap();
    assert!(cluster.nodes().iter().all(|n| n.process().is_some()));

    cluster.partition(&[&[0], &[1, 2]]).unwrap();
    assert!(
        cluster
            .wait_until(WAIT, |c| c.nodes()[0].alive_members().len() == 1)
            .await
    );
    cluster.heal().unwrap();
    assert!(
        cluster.wait_until(WAIT, TestCluster::is_formed).await,
        "no full mesh after heal"
    );

    cluster.pause(1).unwrap();
    assert!(
        cluster
            .wait_until(WAIT, |c| c.nodes()[0].alive_members().len() == 2)
            .await
    );
    cluster.resume(1).unwrap();
    assert!(
        cluster.wait_until(WAIT, TestCluster::is_formed).await,
        "paused node did not return"
    );

    cluster.kill(2).await;
    assert!(
        cluster.wait_until(WAIT, TestCluster::is_formed).await,
        "survivors still list the killed node"
    );
    assert_eq!(cluster.nodes()[0].alive_members().len(), 2);
}
