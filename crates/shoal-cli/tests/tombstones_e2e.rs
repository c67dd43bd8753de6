//! Child-table tombstones across 3 real `shoal node` processes (issue 16, item 14): after
//! thousands of start/terminate cycles every replica holds no tombstone, and a child
//! terminated while a node was cut off (so it keeps the live record) does not come back
//! when that node rejoins. (A SIGSTOP'd node would not miss it: the terminate waits in its
//! socket buffer and is the first thing it reads on resume.) A probe node in the test process (no role, so it runs no
//! children) starts and terminates the children; the processes are read through
//! `/api/supervisor` and `/api/actors`.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

mod common;

use shoal_node::actor::{COUNTER_FACTORY, CounterArgs};
use shoal_node::distributed::ChildSpec;
use shoal_node::{Node, NodeName};
use shoal_testkit::TestCluster;

const WAIT: Duration = Duration::from_secs(60);
const CYCLES: usize = 2_400;
const STREAMS: usize = 8;

/// Process `i`'s supervisor counts: (specs, tombstones), `None` if it does not answer.
fn counts(cluster: &TestCluster, i: usize) -> Option<(u64, u64)> {
    let counts = common::node_api(cluster, i, "/api/supervisor")?["counts"].clone();
    Some((counts["specs"].as_u64()?, counts["tombstones"].as_u64()?))
}

/// Resident memory of process `i` in KiB (for the report; nothing is asserted on it).
fn rss_kib(cluster: &TestCluster, i: usize) -> Option<u64> {
    let pid = cluster.nodes()[i].process()?.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn spec(id: &str) -> ChildSpec {
    ChildSpec::new(id, COUNTER_FACTORY, &CounterArgs::default())
        .unwrap()
        .role("worker")
}

/// Whether every process and the probe hold no child and no tombstone, and no counter runs.
fn empty_everywhere(cluster: &TestCluster, probe: &Node) -> bool {
    probe.distributed_supervisor().count().tombstones == 0
        && (0..3).all(|i| counts(cluster, i) == Some((0, 0)) && common::counters_on(cluster, i) == Some(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tombstones_are_collected_and_a_node_that_missed_a_terminate_does_not_bring_it_back() {
    let cluster = common::worker_cluster(3).await;
    let probe = common::probe_node(&cluster, "probe", 0).await;
    wait_for("the probe joins", || probe.members().len() == 3).await;
    let sup = probe.distributed_supervisor();
    let rss_before = rss_kib(&cluster, 0);

    // Thousands of start/terminate cycles, a few streams at once.
    let streams = (0..STREAMS).map(|s| {
        let sup = sup.clone();
        async move {
            for k in (s..CYCLES).step_by(STREAMS) {
                let id = format!("cycle-{k}");
                sup.start_child(spec(&id)).await.unwrap();
                assert!(sup.terminate_child(&id), "{id} was started");
            }
        }
    });
    futures_util::future::join_all(streams).await;
    let held: Vec<_> = (0..3).map(|i| counts(&cluster, i)).collect();
    eprintln!(
        "right after {CYCLES} cycles, (specs, tombstones) per process: {held:?}; n1 RSS {:?} KiB",
        rss_kib(&cluster, 0)
    );
    // A terminate right after a start races the owner's write of that start (often with a
    // higher Lamport counter): it must win all the same, so once the tables agree no child
    // is left (before the incarnation rule 2 to 8 of 2,400 were).
    wait_for("the probe's table settles", || {
        let specs = sup.count().specs;
        (0..3).all(|i| counts(&cluster, i).is_some_and(|(s, _)| s as usize == specs))
    })
    .await;
    let kept: Vec<String> = sup.which_children().into_iter().map(|c| c.id).collect();
    eprintln!("children kept after their terminate: {} of {CYCLES}", kept.len());
    assert_eq!(kept, Vec::<String>::new(), "terminated children kept");
    let state = |cluster: &TestCluster| {
        (0..3)
            .map(|i| (counts(cluster, i), common::counters_on(cluster, i)))
            .collect::<Vec<_>>()
    };
    let collected = tokio::time::timeout(WAIT, async {
        while !empty_everywhere(&cluster, &probe) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    assert!(
        collected.await.is_ok(),
        "tombstones left after {WAIT:?}: ((specs, tombstones), counters) per process {:?}, probe {:?}",
        state(&cluster),
        sup.count()
    );

    eprintln!(
        "n1 RSS before the cycles {rss_before:?} KiB, after collection {:?} KiB",
        rss_kib(&cluster, 0)
    );

    // A child terminated while n3 is cut off (every frame to and from it dropped, links
    // open): n3 misses the terminate and keeps its live record meanwhile.
    sup.start_child(spec("stale-check")).await.unwrap();
    wait_for("every process holds stale-check", || {
        (0..3).all(|i| counts(&cluster, i).is_some_and(|(specs, _)| specs == 1))
    })
    .await;
    let names = cluster.names();
    let n3 = NodeName::new(names[2].clone()).unwrap();
    cluster
        .cut(2, &[names[0].clone(), names[1].clone(), "probe".to_owned()])
        .unwrap();
    cluster.cut(0, std::slice::from_ref(&names[2])).unwrap();
    cluster.cut(1, std::slice::from_ref(&names[2])).unwrap();
    probe.partition_from([n3]);
    assert!(sup.terminate_child("stale-check"));
    wait_for("n1 sees n3 gone and holds the tombstone", || {
        !cluster.nodes()[0].alive_members().contains(&names[2]) && counts(&cluster, 0) == Some((0, 1))
    })
    .await;
    // Two summary rounds later (4 s), the others still keep it: n3 has not confirmed it.
    let until = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < until {
        for i in 0..2 {
            assert_eq!(
                counts(&cluster, i),
                Some((0, 1)),
                "process {i} must keep the tombstone while n3 has not seen it"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(counts(&cluster, 2), Some((1, 0)), "n3 missed the terminate");
    cluster.heal().unwrap();
    probe.heal();
    wait_for("n3 rejoins, and every replica collects the tombstone", || {
        counts(&cluster, 2).is_some() && empty_everywhere(&cluster, &probe)
    })
    .await;
    // Three summary rounds later, still gone everywhere.
    let until = tokio::time::Instant::now() + Duration::from_secs(6);
    while tokio::time::Instant::now() < until {
        assert!(
            empty_everywhere(&cluster, &probe) && probe.actors().whereis("stale-check").is_none(),
            "stale-check came back: {:?}",
            (0..3).map(|i| counts(&cluster, i)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    probe.shutdown().await;
}
