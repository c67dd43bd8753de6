//! The distributed supervisor, in one process: placement, errors, restarts, failover,
//! migration and graceful leave with state, a partition healed with one instance each.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use shoal_node::Node;
use shoal_node::actor::{COUNTER_FACTORY, CounterArgs, CounterGet, CounterMsg, Echo, ExitReason, Restart};
use shoal_node::distributed::{
    Candidate, ChildSpec, Placement, PlacementStrategy, StartChildError, StartKind,
};
use shoal_testkit::TestCluster;

const WAIT: Duration = Duration::from_secs(20);
const CALL: Duration = Duration::from_secs(2);

fn counter(id: &str) -> ChildSpec {
    ChildSpec::new(id, COUNTER_FACTORY, &CounterArgs::default()).unwrap()
}

/// The count of child `id`, asked by name from `node`.
async fn count_of(node: &Node, id: &str) -> Option<u64> {
    node.actors().call_named(id, CounterGet, CALL).await.ok()
}

/// Counter actors running on the live nodes of `cluster`.
fn counters(cluster: &TestCluster) -> usize {
    cluster
        .nodes()
        .iter()
        .filter_map(|n| n.node())
        .map(|n| {
            n.actors()
                .list()
                .iter()
                .filter(|a| a.name.as_deref() == Some(COUNTER_FACTORY))
                .count()
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_spread_resolve_everywhere_and_bad_specs_are_refused() {
    let cluster = TestCluster::builder().size(3).start().await.unwrap();
    let sup = cluster.node(0).distributed_supervisor();
    let mut owners = std::collections::BTreeSet::new();
    for i in 0..30 {
        let started = sup.start_child(counter(&format!("c{i}"))).await.unwrap();
        assert_eq!(started.pid.node.name, started.node);
        owners.insert(started.node);
    }
    assert_eq!(owners.len(), 3, "30 children placed uniformly land on every node");
    let all_visible = |c: &TestCluster| {
        (0..3).all(|n| {
            let node = c.node(n);
            node.distributed_supervisor().count().running == 30 && node.actors().whereis("c7").is_some()
        })
    };
    assert!(
        cluster.wait_until(WAIT, all_visible).await,
        "every node sees 30 running children"
    );

    let duplicate = cluster
        .node(1)
        .distributed_supervisor()
        .start_child(counter("c3"))
        .await;
    assert!(
        matches!(duplicate, Err(StartChildError::AlreadyStarted { .. })),
        "{duplicate:?}"
    );
    let unknown = sup
        .start_child(ChildSpec::new("x", "no.such.factory", &()).unwrap())
        .await;
    assert_eq!(
        unknown,
        Err(StartChildError::UnknownFactory("no.such.factory".into()))
    );
    // A name an actor (not a child) holds on another node: refused, naming the holder.
    let echo = cluster.node(2).actors().spawn(Echo::default());
    cluster.node(2).actors().register("svc", echo.pid()).unwrap();
    let known = |c: &TestCluster| c.node(0).actors().whereis("svc").is_some();
    assert!(cluster.wait_until(WAIT, known).await, "node 0 hears of svc");
    let taken = sup.start_child(counter("svc")).await;
    assert_eq!(
        taken,
        Err(StartChildError::NameTaken {
            id: "svc".into(),
            holder: echo.pid().clone(),
        })
    );
    assert!(
        (0..3).all(|n| cluster
            .node(n)
            .distributed_supervisor()
            .which_children()
            .iter()
            .all(|c| c.id != "svc")),
        "a refused start writes no child"
    );
    let no_role = sup.start_child(counter("r").role("gpu")).await.unwrap_err();
    assert_eq!(no_role.to_string(), "no live node is eligible (role \"gpu\")");

    assert!(sup.terminate_child("c3"));
    let gone = |c: &TestCluster| (0..3).all(|n| c.node(n).actors().whereis("c3").is_none());
    assert!(cluster.wait_until(WAIT, gone).await, "a terminated child stops");
    assert_eq!(sup.count().specs, 29);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_follow_the_restart_type_and_the_intensity_limit() {
    let cluster = TestCluster::builder().size(2).start().await.unwrap();
    let node = cluster.node(0);
    let sup = node.distributed_supervisor();
    let crash = ExitReason::Error("boom".into());

    // Permanent: restarted after a crash, its state lost, and the API says so.
    let first = sup.start_child(counter("perm")).await.unwrap();
    node.actors()
        .send(&first.pid, CounterMsg::Exit(crash.clone()))
        .unwrap();
    let restarted = |c: &TestCluster| {
        let info = c.node(0).distributed_supervisor().which_children();
        info.iter().any(|i| {
            i.id == "perm"
                && i.restarts == 1
                && !i.state_kept
                && i.pid.as_ref().is_some_and(|p| *p != first.pid)
        })
    };
    assert!(
        cluster.wait_until(WAIT, restarted).await,
        "{:?}",
        sup.which_children()
    );

    // Transient: a normal exit ends it for good.
    let transient = sup
        .start_child(counter("trans").restart(Restart::Transient))
        .await
        .unwrap();
    node.actors()
        .send(&transient.pid, CounterMsg::Exit(ExitReason::Normal))
        .unwrap();
    let removed = |c: &TestCluster| {
        (0..2).all(|n| {
            c.node(n)
                .distributed_supervisor()
                .which_children()
                .iter()
                .all(|i| i.id != "trans")
        })
    };
    assert!(cluster.wait_until(WAIT, removed).await);

    // Intensity: a fourth crash within the window gives the child up.
    let spec = counter("flaky").intensity(3, Duration::from_secs(60));
    sup.start_child(spec).await.unwrap();
    for _ in 0..4 {
        let before = node.actors().whereis("flaky");
        let Some(pid) = before else { break };
        node.actors().send(&pid, CounterMsg::Exit(crash.clone())).unwrap();
        let moved_on = |c: &TestCluster| {
            let now = c.node(0).actors().whereis("flaky");
            now.as_ref() != Some(&pid)
                && (now.is_some()
                    || c.node(0)
                        .distributed_supervisor()
                        .which_children()
                        .iter()
                        .any(|i| i.failed.is_some()))
        };
        assert!(cluster.wait_until(WAIT, moved_on).await);
    }
    let failed = sup
        .which_children()
        .into_iter()
        .find(|i| i.id == "flaky")
        .unwrap();
    assert_eq!(failed.failed, Some(ExitReason::MaxRestarts), "{failed:?}");
    assert!(failed.pid.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_children_fail_over_and_migrate_and_leave_keep_state() {
    let mut cluster = TestCluster::builder().size(3).start().await.unwrap();
    let sup = cluster.node(0).distributed_supervisor().clone();
    for i in 0..12 {
        sup.start_child(counter(&format!("k{i}"))).await.unwrap();
    }
    sup.start_child(counter("temp").restart(Restart::Temporary))
        .await
        .unwrap();

    // Migrate: the count moves with the child.
    let child = sup.which_children().into_iter().find(|c| c.id == "k0").unwrap();
    let target = cluster
        .names()
        .into_iter()
        .map(|n| shoal_node::NodeName::new(n).unwrap())
        .find(|n| *n != child.owner)
        .unwrap();
    cluster
        .node(0)
        .actors()
        .send_named("k0", CounterMsg::Add(41))
        .unwrap();
    assert_eq!(count_of(cluster.node(0), "k0").await, Some(41));
    let pid = sup.migrate("k0", &target).await.unwrap();
    assert_eq!(pid.node.name, target);
    assert_eq!(
        count_of(cluster.node(0), "k0").await,
        Some(41),
        "the count moved with the child"
    );
    let info = sup.which_children().into_iter().find(|c| c.id == "k0").unwrap();
    assert!(
        matches!(info.last_start, StartKind::HandedOff { .. }) && info.state_kept,
        "{info:?}"
    );

    // Graceful leave of node 2: its children move with their state.
    let leaving = cluster.node(2).clone();
    let on_leaving: Vec<String> = sup
        .which_children()
        .into_iter()
        .filter(|c| c.owner == leaving.local().id.name && c.id != "temp")
        .map(|c| c.id)
        .collect();
    for id in &on_leaving {
        cluster
            .node(0)
            .actors()
            .send_named(id, CounterMsg::Add(7))
            .unwrap();
    }
    for id in &on_leaving {
        assert_eq!(count_of(cluster.node(0), id).await, Some(7));
    }
    leaving.leave().await;
    for id in &on_leaving {
        let kept = async {
            loop {
                if count_of(cluster.node(0), id).await == Some(7) {
                    return;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(WAIT, kept)
            .await
            .unwrap_or_else(|_| panic!("{id} lost its count"));
    }

    // Kill -9 equivalent of node 1: its children run elsewhere and resolve by name.
    let killed = cluster.node(1).local().id.name.clone();
    let temp_owner = sup
        .which_children()
        .into_iter()
        .find(|c| c.id == "temp")
        .map(|c| c.owner);
    cluster.kill(1).await;
    let all_back = |c: &TestCluster| {
        let node = c.node(0);
        let children = node.distributed_supervisor().which_children();
        children
            .iter()
            .filter(|c| c.id.starts_with('k'))
            .all(|c| c.pid.is_some() && c.owner == node.local().id.name)
            && (0..12).all(|i| node.actors().whereis(&format!("k{i}")).is_some())
    };
    assert!(
        cluster.wait_until(WAIT, all_back).await,
        "{:?}",
        sup.which_children()
    );
    // A temporary child on the killed node is dropped, not restarted elsewhere.
    if temp_owner == Some(killed) {
        let removed = |c: &TestCluster| {
            c.node(0)
                .distributed_supervisor()
                .which_children()
                .iter()
                .all(|i| i.id != "temp")
        };
        assert!(
            cluster.wait_until(WAIT, removed).await,
            "a temporary child is not restarted elsewhere"
        );
    }
    let running = sup.count().running;
    assert_eq!(counters(&cluster), running, "one instance per running child");
}

/// Places every child on the named node while it is a candidate, else on the first one.
struct Prefer(shoal_node::NodeName);

impl Placement for Prefer {
    fn place(&self, _child: &str, candidates: &[Candidate<'_>]) -> Option<shoal_node::NodeName> {
        let preferred = candidates.iter().find(|c| *c.name == self.0);
        preferred.or(candidates.first()).map(|c| c.name.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_placed_on_a_draining_node_runs_on_another_and_says_where() {
    let cluster = TestCluster::builder().size(3).start().await.unwrap();
    let draining = shoal_node::NodeName::new(cluster.names()[2].clone()).unwrap();
    for i in 0..3 {
        cluster
            .node(i)
            .distributed_supervisor()
            .register_placement("prefer", Prefer(draining.clone()));
    }
    // A drained node stays a live member, so placement still picks it, but it starts no
    // child any more (as in a graceful leave, before the node goes): it passes the child on.
    cluster.node(2).distributed_supervisor().drain().await;
    let spec = counter("placed").strategy(PlacementStrategy::Custom("prefer".into()));
    let started = cluster
        .node(0)
        .distributed_supervisor()
        .start_child(spec)
        .await
        .unwrap();
    assert_ne!(started.node, draining);
    assert_eq!(started.pid.node.name, started.node, "{started:?}");
    let named = |c: &TestCluster| c.node(1).actors().whereis("placed") == Some(started.pid.clone());
    assert!(cluster.wait_until(WAIT, named).await);
    assert!(count_of(cluster.node(1), "placed").await.is_some());
    let child = cluster
        .node(0)
        .distributed_supervisor()
        .which_children()
        .into_iter()
        .find(|c| c.id == "placed")
        .unwrap();
    assert_eq!(child.owner, started.node);
    assert_eq!(counters(&cluster), 1);
}
