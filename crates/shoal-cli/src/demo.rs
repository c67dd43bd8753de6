//! `shoal node --demo`: a workload a newcomer can watch in `shoal ps`, `/api/supervisor` and
//! the logs: supervised counters that tick once a second (placed over the cluster,
//! rebalanced when nodes join, moved with their count on a graceful leave, restarted
//! elsewhere from zero when their node dies), a singleton clock on the oldest node, and a
//! process group with one member per node.

use std::time::Duration;

use shoal_node::Node;
use shoal_node::actor::{COUNTER_FACTORY, CounterArgs, Echo, SpawnOptions};
use shoal_node::distributed::{ChildSpec, StartChildError};

/// Supervised counters the demo keeps, `demo.counter.00` up.
pub(crate) const DEMO_COUNTERS: usize = 24;

/// The demo's process group: one member per node.
pub(crate) const DEMO_GROUP: &str = "demo.nodes";

/// The tick of every demo counter.
const TICK: CounterArgs = CounterArgs { tick_ms: 1000 };

/// Declares the singleton, joins the group and lets the oldest node start the counters.
pub(crate) fn start(node: &Node) -> anyhow::Result<()> {
    node.singleton("demo.clock", COUNTER_FACTORY, &TICK, None)?;
    let member = node
        .actors()
        .spawn_with(Echo::default(), SpawnOptions::default().name("demo.member"));
    node.actors().join(DEMO_GROUP, member.pid())?;
    let seeding = node.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = seed_counters(&seeding) => {}
            () = seeding.stopped() => {}
        }
    });
    tracing::info!(
        "demo workload on: {DEMO_COUNTERS} supervised counters, singleton demo.clock, group {DEMO_GROUP}"
    );
    Ok(())
}

/// Once this node is the oldest member, starts whichever demo counters the cluster lacks.
/// Other nodes leave it to the oldest, so no two nodes start the same counter.
async fn seed_counters(node: &Node) {
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    loop {
        ticks.tick().await;
        if node.leader(None).is_none_or(|l| l.name != node.local().id.name) {
            continue;
        }
        let existing: std::collections::HashSet<String> = node
            .distributed_supervisor()
            .which_children()
            .into_iter()
            .map(|c| c.id)
            .collect();
        let mut complete = true;
        for i in 0..DEMO_COUNTERS {
            let id = format!("demo.counter.{i:02}");
            if existing.contains(&id) {
                continue;
            }
            let Ok(spec) = ChildSpec::new(id.as_str(), COUNTER_FACTORY, &TICK) else {
                return;
            };
            match node.distributed_supervisor().start_child(spec).await {
                Ok(_) | Err(StartChildError::AlreadyStarted { .. }) => {}
                Err(e) => {
                    tracing::warn!(child = %id, "demo counter not started yet: {e}");
                    complete = false;
                }
            }
        }
        if complete {
            return;
        }
    }
}
