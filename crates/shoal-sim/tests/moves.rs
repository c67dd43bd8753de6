//! Moves of supervised children in the simulator, by the rules of the shoal-proto core:
//! concurrent migrates of one child to different nodes (one happens, with its state, and
//! the other is reported superseded on every node), and rebalancing after a node is lost
//! (none: the lost node's children are taken over, never "moved with their state").
//!
//! Replay one seed with `SHOAL_SIM_SEED=<seed> cargo test -p shoal-sim --test moves`.

use std::collections::BTreeMap;
use std::time::Duration;

use shoal_proto::NodeName;
use shoal_proto::child_manager::MoveOutcome;
use shoal_proto::children::{ChildSpec, StartKind};
use shoal_sim::{Sim, SimConfig, seeds};

const POLL: Duration = Duration::from_millis(20);

fn cluster(seed: u64, nodes: &[&str], rebalance: bool) -> Result<Sim, String> {
    let config = SimConfig {
        rebalance_children: rebalance,
        ..SimConfig::lan()
    };
    let mut sim = Sim::new(seed, config);
    if !sim.form_mesh(nodes).map_err(|e| e.to_string())? {
        return Err("the cluster never formed".into());
    }
    Ok(sim)
}

fn spec(id: &str) -> ChildSpec {
    ChildSpec::new(id, "sim", &()).expect("unit args encode")
}

/// Whether every child runs once and every running node holds one table, nothing moving.
fn quiet(sim: &Sim, nodes: &[&str], children: usize) -> bool {
    let running: Vec<&&str> = nodes.iter().filter(|n| sim.is_running(n)).collect();
    let digest = sim.child_digest(running[0]);
    sim.child_instances().len() == children
        && sim.child_instances().values().all(|pids| pids.len() == 1)
        && running.iter().all(|n| sim.child_digest(n) == digest)
        && sim
            .child_table(running[0])
            .is_some_and(|t| t.iter().all(|r| r.handoff_from.is_none()))
}

const NODES: [&str; 3] = ["n1", "n2", "n3"];

/// A 3-node cluster running child `c`, settled: the sim, the child's count, and the two
/// nodes that do not run it.
fn one_child(seed: u64) -> Result<(Sim, u64, [&'static str; 2]), String> {
    let mut sim = cluster(seed, &NODES, false)?;
    sim.start_child("n1", spec("c"))
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if !settle(&mut sim, Duration::from_secs(10))? {
        return Err("the child never ran".into());
    }
    let owner = sim.child_record("n1", "c").ok_or("no record")?.owner;
    let before = sim.child_count("c").ok_or("no count")?;
    let others: Vec<&str> = NODES.into_iter().filter(|n| *n != owner.as_str()).collect();
    Ok((sim, before, [others[0], others[1]]))
}

/// Runs until child `c` runs once and every node agrees, nothing moving; whether it did.
fn settle(sim: &mut Sim, max: Duration) -> Result<bool, String> {
    sim.run_until(|s| quiet(s, &NODES, 1), POLL, max)
        .map_err(|e| e.to_string())
}

/// The seeds on which `scenario` fails, with why.
fn failures(count: u64, scenario: fn(u64) -> Result<(), String>) -> Vec<String> {
    seeds(count)
        .into_iter()
        .filter_map(|seed| scenario(seed).err().map(|err| format!("seed {seed}: {err}")))
        .collect()
}

fn concurrent_migrates(seed: u64) -> Result<(), String> {
    let (mut sim, before, others) = one_child(seed)?;
    let e = |e: shoal_sim::SimError| e.to_string();
    // Each of the two other nodes moves the child to itself, at the same instant.
    let moves: Vec<_> = others
        .iter()
        .map(|n| {
            sim.migrate_child(n, "c", n)
                .map_err(e)?
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let moves: Vec<_> = moves.into_iter().map(|m| m.expect("it runs elsewhere")).collect();
    if !settle(&mut sim, Duration::from_secs(20))? {
        return Err(format!("never settled: {:?}", sim.child_record("n1", "c")));
    }
    let winner = sim.child_record("n1", "c").ok_or("no record")?.owner;
    for n in NODES {
        let outcomes: Vec<MoveOutcome> = moves.iter().filter_map(|m| sim.move_outcome(n, m)).collect();
        let done = outcomes
            .iter()
            .filter(|o| **o == MoveOutcome::Done { state_kept: true })
            .count();
        let superseded = MoveOutcome::Superseded {
            owner: winner.clone(),
        };
        if done != 1 || !outcomes.contains(&superseded) {
            return Err(format!(
                "on {n}, outcomes {outcomes:?}: one move must be done, one superseded"
            ));
        }
    }
    let after = sim.child_count("c").ok_or("no count")?;
    if after != before + 1 {
        return Err(format!(
            "the child's count went from {before} to {after}: its state was lost"
        ));
    }
    Ok(())
}

#[test]
fn of_concurrent_migrates_one_happens_with_the_state_and_the_other_is_superseded() {
    let failed = failures(30, concurrent_migrates);
    assert!(failed.is_empty(), "{failed:#?}");
}

fn loss_moves_nothing(seed: u64) -> Result<(), String> {
    let nodes = ["n1", "n2", "n3", "n4"];
    let mut sim = cluster(seed, &nodes, true)?;
    let e = |e: shoal_sim::SimError| e.to_string();
    for i in 0..16 {
        sim.start_child("n1", spec(&format!("c{i}")))
            .map_err(e)?
            .map_err(|e| e.to_string())?;
    }
    if !sim
        .run_until(|s| quiet(s, &nodes, 16), POLL, Duration::from_secs(20))
        .map_err(e)?
    {
        return Err("the children never ran".into());
    }
    let lost = NodeName::new("n4").map_err(|e| e.to_string())?;
    let before: BTreeMap<String, NodeName> = sim
        .child_table("n1")
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.spec.id, r.owner))
        .collect();
    if !before.values().any(|owner| *owner == lost) {
        return Err("the node to lose owns no child; pick more children".into());
    }
    sim.crash("n4").map_err(e)?;
    let mut moved_from_lost = Vec::new();
    let settled = sim
        .run_until(
            |s| {
                for n in ["n1", "n2", "n3"] {
                    for r in s.child_table(n).unwrap_or_default() {
                        if r.handoff_from.as_ref() == Some(&lost) {
                            moved_from_lost.push(format!("{n}: {r:?}"));
                        }
                    }
                }
                quiet(s, &nodes, 16)
            },
            Duration::from_millis(1),
            Duration::from_secs(30),
        )
        .map_err(e)?;
    if let Some(first) = moved_from_lost.first() {
        return Err(format!(
            "a child 'moved with its state' from the lost node: {first}"
        ));
    }
    if !settled {
        return Err("never settled after the loss".into());
    }
    for r in sim.child_table("n1").unwrap_or_default() {
        let was = &before[&r.spec.id];
        let failed_over = StartKind::FailedOver { from: lost.clone() };
        if *was == lost && r.last_start != failed_over {
            return Err(format!(
                "{} was on the lost node but started as {:?}",
                r.spec.id, r.last_start
            ));
        }
        if *was != lost && r.owner != *was {
            return Err(format!(
                "{} moved from {was} to {} though only a node was lost",
                r.spec.id, r.owner
            ));
        }
    }
    Ok(())
}

#[test]
fn a_lost_node_s_children_are_taken_over_never_rebalanced_with_their_state() {
    let failed = failures(20, loss_moves_nothing);
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Whether node `n` runs child `c` settled: its instance there, its replica saying so.
fn settled_on(sim: &Sim, n: &str) -> bool {
    let runs_here = sim
        .child_instances()
        .get("c")
        .is_some_and(|pids| pids.len() == 1 && pids[0].node.name.as_str() == n);
    runs_here
        && sim
            .child_record(n, "c")
            .is_some_and(|r| r.owner.as_str() == n && r.handoff_from.is_none())
}

/// The child moves from its owner B to A, and on from A to C the moment it runs on A. C gets
/// A's state over one link while B's registry delta dropping the old instance's name may
/// still be on its way over another: C must wait for the name, not start (and consume the
/// state) only to find the name held.
fn moved_on_at_once(seed: u64) -> Result<(), String> {
    let (mut sim, before, others) = one_child(seed)?;
    let e = |e: shoal_sim::SimError| e.to_string();
    let (a, c) = (others[0], others[1]);
    sim.migrate_child(a, "c", a)
        .map_err(e)?
        .map_err(|e| e.to_string())?;
    let step = Duration::from_micros(50);
    if !sim
        .run_until(|s| settled_on(s, a), step, Duration::from_secs(10))
        .map_err(e)?
    {
        return Err(format!("never settled on {a}"));
    }
    let on = sim
        .migrate_child(a, "c", c)
        .map_err(e)?
        .map_err(|e| e.to_string())?;
    let on = on.ok_or("it runs on the target already")?;
    if !settle(&mut sim, Duration::from_secs(20))? {
        return Err(format!("never settled: {:?}", sim.child_record(c, "c")));
    }
    let outcome = sim.move_outcome(c, &on);
    if outcome != Some(MoveOutcome::Done { state_kept: true }) {
        return Err(format!("the move on to {c} ended {outcome:?}"));
    }
    let after = sim.child_count("c").ok_or("no count")?;
    if after != before + 2 {
        return Err(format!(
            "the child's count went from {before} to {after} over two moves: its state was lost"
        ));
    }
    Ok(())
}

#[test]
fn a_child_moved_on_the_moment_it_arrived_keeps_its_state() {
    let failed = failures(40, moved_on_at_once);
    assert!(failed.is_empty(), "{failed:#?}");
}
