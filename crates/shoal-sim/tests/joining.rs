//! A node that has just restarted, and has not found its cluster yet, starts a child that
//! the cluster already runs (the demo's seeding does this: alone, the node is the oldest
//! member and its table is empty). The core's rule (`child_manager::table_current`) refuses
//! the write; without it the new incarnation won the merge once the node joined, and the
//! instance that carried the count was replaced by one that started from zero (issue 16
//! item 1, seen as "demo.counter.NN lost its count" after `shoal cluster restart --rolling`).
//!
//! Replay one seed with `SHOAL_SIM_SEED=<seed> cargo test -p shoal-sim --test joining`.

use std::time::Duration;

use shoal_proto::child_manager::{NotCurrent, StartRefused};
use shoal_proto::children::ChildSpec;
use shoal_sim::{NodeState, Sim, SimConfig, seeds};

const POLL: Duration = Duration::from_millis(20);
const NODES: [&str; 3] = ["n1", "n2", "n3"];

fn spec(id: &str) -> ChildSpec {
    ChildSpec::new(id, "sim", &()).expect("unit args encode")
}

/// The child runs once, every node holds one table, nothing moves.
fn quiet(sim: &Sim) -> bool {
    let running: Vec<&str> = NODES.iter().copied().filter(|n| sim.is_running(n)).collect();
    let digest = sim.child_digest(running[0]);
    sim.child_instances().get("c").is_some_and(|pids| pids.len() == 1)
        && running.iter().all(|n| sim.child_digest(n) == digest)
        && sim
            .child_table(running[0])
            .is_some_and(|t| t.iter().all(|r| r.handoff_from.is_none()))
}

fn settle(sim: &mut Sim, what: &str) -> Result<(), String> {
    match sim.run_until(quiet, POLL, Duration::from_secs(20)) {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("never quiet after {what}")),
        Err(e) => Err(e.to_string()),
    }
}

fn restarted_node_starts_a_running_child(seed: u64) -> Result<(), String> {
    let mut sim = Sim::new(seed, SimConfig::lan());
    if !sim.form_mesh(&NODES).map_err(|e| e.to_string())? {
        return Err("the cluster never formed".into());
    }
    sim.start_child("n1", spec("c"))
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    settle(&mut sim, "the start")?;
    // Moved with its state until it runs on n2 with a count above one.
    for to in ["n1", "n2"] {
        if sim
            .child_record("n1", "c")
            .is_some_and(|r| r.owner.as_str() != to)
        {
            sim.migrate_child("n1", "c", to)
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            settle(&mut sim, "a move")?;
        }
    }
    let before = sim.child_count("c").ok_or("no count")?;
    let instance = sim.child_instances().get("c").cloned();
    if before < 2 {
        return Err(format!("the moves did not carry the count: {before}"));
    }

    // A rolling restart's step: n3 leaves gracefully, and a new process takes its name.
    sim.leave("n3").map_err(|e| e.to_string())?;
    let left = sim
        .run_until(
            |s| s.state("n3") == Some(NodeState::Left),
            POLL,
            Duration::from_secs(10),
        )
        .map_err(|e| e.to_string())?;
    if !left {
        return Err("n3 never left".into());
    }
    sim.restart("n3").map_err(|e| e.to_string())?;
    // At once: the new life has no peer and an empty table.
    let refused: Result<_, StartRefused> = sim.start_child("n3", spec("c")).map_err(|e| e.to_string())?;
    settle(&mut sim, "n3's restart")?;
    let after = sim.child_count("c").ok_or("no count after")?;
    if after < before || sim.child_instances().get("c").cloned() != instance {
        return Err(format!(
            "the child lost its count: {before} before n3 restarted, {after} after ({instance:?} -> {:?}); n3's start: {refused:?}",
            sim.child_instances().get("c")
        ));
    }
    if refused != Err(StartRefused::NotCurrent(NotCurrent::Joining)) {
        return Err(format!("n3, still joining, wrote a new child: {refused:?}"));
    }
    Ok(())
}

#[test]
fn a_node_that_has_not_joined_yet_writes_no_child_the_cluster_runs() {
    let failures: Vec<String> = seeds(20)
        .into_iter()
        .filter_map(|seed| {
            restarted_node_starts_a_running_child(seed)
                .err()
                .map(|e| format!("seed {seed}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
