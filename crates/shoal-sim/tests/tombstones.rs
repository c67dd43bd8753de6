//! Child-table tombstones under random faults: short-lived children are started and
//! terminated from random nodes while nodes crash, restart and get partitioned and healed.
//! After the network heals and goes quiet, every replica has collected every tombstone, the
//! tables agree, and no terminated child is specified or runs anywhere.
//!
//! Replay one failing seed with `SHOAL_SIM_SEED=<seed> cargo test -p shoal-sim --test tombstones`.

use std::collections::BTreeSet;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shoal_proto::children::ChildSpec;
use shoal_sim::{Sim, SimConfig, seeds};

const NODES: usize = 4;

fn names() -> Vec<String> {
    (1..=NODES).map(|i| format!("n{i}")).collect()
}

fn spec(id: &str) -> ChildSpec {
    ChildSpec::new(id, "sim", &()).expect("unit args encode")
}

/// Whether every node runs, holds no tombstone, and all tables are equal.
fn collected(sim: &Sim, names: &[String]) -> bool {
    let digest = sim.child_digest(&names[0]);
    names
        .iter()
        .all(|n| sim.child_tombstones(n) == Some(0) && sim.child_digest(n) == digest)
}

/// Whether every node runs and holds the same table.
fn same_tables(sim: &Sim, names: &[String]) -> bool {
    let digest = sim.child_digest(&names[0]);
    names
        .iter()
        .all(|n| digest.is_some() && sim.child_digest(n) == digest)
}

/// Whether child `id` runs once and every node holds the same table.
fn started(sim: &Sim, names: &[String], id: &str) -> bool {
    sim.child_instances().get(id).is_some_and(|p| p.len() == 1) && same_tables(sim, names)
}

fn run(seed: u64) -> Result<(), String> {
    let mut sim = Sim::new(seed, SimConfig::lan());
    let mut rng = StdRng::seed_from_u64(seed ^ 0x746f_6d62);
    let names = names();
    let e = |e: shoal_sim::SimError| e.to_string();
    if !sim.form_mesh(&names).map_err(e)? {
        return Err("the cluster never formed".into());
    }
    let mut terminated = BTreeSet::new();
    for k in 0..80 {
        let id = format!("tmp-{k}");
        let node = &names[rng.random_range(0..NODES)];
        let _ = sim.start_child(node, spec(&id));
        let wait = Duration::from_millis(rng.random_range(1..300));
        sim.run_until(|s| started(s, &names, &id), Duration::from_millis(10), wait)
            .map_err(e)?;
        let node = &names[rng.random_range(0..NODES)];
        // A child terminated once its start settled must stay gone. (A terminate racing the
        // start is `a_terminate_right_after_a_start_wins`'s.)
        let settled = !sim.is_partitioned() && started(&sim, &names, &id);
        if sim.terminate_child(node, &id).unwrap_or(false) && settled {
            // Counted once every node holds the tombstone (a fault right after it could
            // keep it from the other side, where a failover's newer write would win).
            let spread = |s: &Sim| {
                names.iter().all(|n| {
                    s.child_table(n)
                        .is_some_and(|t| t.iter().all(|r| r.spec.id != id))
                }) && same_tables(s, &names)
            };
            if sim
                .run_until(spread, Duration::from_millis(10), Duration::from_secs(2))
                .map_err(e)?
            {
                terminated.insert(id);
            }
        }
        let node = names[rng.random_range(0..NODES)].clone();
        match rng.random_range(0..12) {
            0 => {
                let _ = sim.crash(&node);
            }
            1 | 2 => {
                let _ = sim.restart(&node);
            }
            3 if !sim.is_partitioned() => {
                let (a, b): (Vec<&str>, Vec<&str>) = names
                    .iter()
                    .map(String::as_str)
                    .partition(|_| rng.random_bool(0.5));
                let _ = sim.partition(&a, &b);
            }
            4 => sim.heal(),
            _ => {}
        }
        sim.run_for(Duration::from_millis(rng.random_range(1..1_500)))
            .map_err(e)?;
    }
    sim.heal();
    for n in &names {
        if !sim.is_running(n) {
            let _ = sim.restart(n);
        }
    }
    let calm = sim.run_until(
        Sim::is_converged,
        Duration::from_millis(100),
        Duration::from_secs(60),
    );
    if !calm.map_err(e)? {
        return Err("no single view after the calm".into());
    }
    let done = sim.run_until(
        |s| collected(s, &names),
        Duration::from_millis(100),
        Duration::from_secs(30),
    );
    if !done.map_err(e)? {
        let held: Vec<_> = names.iter().map(|n| (n, sim.child_tombstones(n))).collect();
        return Err(format!("tombstones still held after 30 s of quiet: {held:?}"));
    }
    let table = sim.child_table(&names[0]).ok_or("n1 is not running")?;
    let instances = sim.child_instances();
    for id in &terminated {
        if table.iter().any(|r| r.spec.id == *id) || instances.contains_key(id) {
            return Err(format!("{id} was terminated but came back"));
        }
    }
    Ok(())
}

#[test]
fn every_tombstone_is_collected_and_no_terminated_child_comes_back() {
    let failures: Vec<String> = seeds(30)
        .into_iter()
        .filter_map(|seed| {
            run(seed).err().map(|e| {
                format!("seed {seed}: {e}\n  replay: SHOAL_SIM_SEED={seed} cargo test -p shoal-sim --test tombstones")
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Starts 40 children, each terminated from the node that started it after 0 to 20 ms (the
/// owner may not have recorded the start yet, or may be doing it with a higher counter);
/// after quiet, none of them is in any table or runs anywhere.
fn terminate_right_after_start(seed: u64) -> Result<(), String> {
    let mut sim = Sim::new(seed, SimConfig::lan());
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7261_6365);
    let names = names();
    let e = |e: shoal_sim::SimError| e.to_string();
    if !sim.form_mesh(&names).map_err(e)? {
        return Err("the cluster never formed".into());
    }
    let mut terminated = Vec::new();
    for k in 0..40 {
        let id = format!("race-{k}");
        let node = &names[rng.random_range(0..NODES)];
        if sim.start_child(node, spec(&id)).map_err(e)?.is_err() {
            return Err(format!("{id}: placement refused"));
        }
        let wait = rng.random_range(0..20);
        if wait > 0 {
            sim.run_for(Duration::from_millis(wait)).map_err(e)?;
        }
        if sim.terminate_child(node, &id).map_err(e)? {
            terminated.push(id);
        }
        sim.run_for(Duration::from_millis(rng.random_range(1..50)))
            .map_err(e)?;
    }
    let done = sim.run_until(
        |s| collected(s, &names),
        Duration::from_millis(100),
        Duration::from_secs(30),
    );
    if !done.map_err(e)? {
        let held: Vec<_> = names.iter().map(|n| (n, sim.child_tombstones(n))).collect();
        return Err(format!("tombstones still held after 30 s of quiet: {held:?}"));
    }
    let instances = sim.child_instances();
    let kept: Vec<&String> = terminated
        .iter()
        .filter(|id| {
            instances.contains_key(*id)
                || names.iter().any(|n| {
                    sim.child_table(n)
                        .is_some_and(|t| t.iter().any(|r| r.spec.id == **id))
                })
        })
        .collect();
    if terminated.len() != 40 || !kept.is_empty() {
        return Err(format!(
            "{} of 40 terminates found the child; kept after them: {kept:?}",
            terminated.len()
        ));
    }
    Ok(())
}

#[test]
fn a_terminate_right_after_a_start_wins() {
    let failures: Vec<String> = seeds(30)
        .into_iter()
        .filter_map(|seed| {
            terminate_right_after_start(seed).err().map(|e| {
                format!("seed {seed}: {e}\n  replay: SHOAL_SIM_SEED={seed} cargo test -p shoal-sim --test tombstones a_terminate")
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of 30 seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
