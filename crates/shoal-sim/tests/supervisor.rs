//! The distributed supervisor and singletons under random faults: nodes crash, restart,
//! leave, pause and resume (timers first, then the bytes that waited), get partitioned and
//! healed, go through rolling restarts that do not wait for handoffs, and children crash and
//! migrate. The simulator checks after
//! every step that on the majority side no child and no singleton runs twice
//! (`shoal_sim::Sim::check_supervision`). After the network heals and goes quiet, every child
//! spec is still specified, runs exactly once and resolves by name to that instance on every
//! node; the singleton runs exactly once.
//!
//! Replay one failing seed with `SHOAL_SIM_SEED=<seed> cargo test -p shoal-sim --test supervisor`.
//! Add `SHOAL_SIM_TRACE=1` for a timeline of membership events, supervisor actions and
//! singleton starts and stops; `SHOAL_SIM_SEEDS=<n>` runs seeds 1..=n.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shoal_proto::children::ChildSpec;
use shoal_sim::{NodeState, Sim, SimConfig, seeds};

const NODES: usize = 5;
const CHILDREN: usize = 20;
const SINGLETON: &str = "the-singleton";

fn names() -> Vec<String> {
    (1..=NODES).map(|i| format!("n{i}")).collect()
}

fn ids() -> Vec<String> {
    (0..CHILDREN).map(|i| format!("child-{i}")).collect()
}

fn spec(id: &str) -> ChildSpec {
    ChildSpec::new(id, "sim", &())
        .expect("unit args encode")
        .intensity(1000, Duration::from_secs(1))
}

/// Whether every child runs exactly once and the singleton too.
fn settled(sim: &Sim) -> bool {
    let instances = sim.child_instances();
    instances.len() == CHILDREN
        && instances.values().all(|pids| pids.len() == 1)
        && sim.singleton_instances(SINGLETON).len() == 1
}

/// Whether the supervisor is at rest on every node: `settled`, one table everywhere, and
/// no child moving.
fn quiet(sim: &Sim, names: &[String]) -> bool {
    let digest = sim.child_digest(&names[0]);
    settled(sim)
        && names.iter().all(|n| sim.child_digest(n) == digest)
        && sim
            .child_table(&names[0])
            .is_some_and(|t| t.iter().all(|r| r.handoff_from.is_none()))
}

/// Whether a node other than `node` runs, is not leaving, and holds every child spec.
fn another_holds_all(sim: &Sim, names: &[String], node: &str) -> bool {
    let stays = |n: &String| n.as_str() != node && sim.state(n) == Some(NodeState::Running);
    names.iter().filter(|n| stays(n)).any(|n| {
        sim.child_table(n)
            .is_some_and(|t| ids().iter().all(|id| t.iter().any(|r| r.spec.id == *id)))
    })
}

fn run(seed: u64, rebalance: bool) -> Result<(), String> {
    if std::env::var_os("SHOAL_SIM_TRACE").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("shoal_sim=debug,shoal_proto=info")
            .with_test_writer()
            .try_init();
    }
    let config = SimConfig {
        rebalance_children: rebalance,
        ..SimConfig::lan()
    };
    let mut sim = Sim::new(seed, config);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5375_7065_7276_6973);
    let names = names();
    let e = |e: shoal_sim::SimError| e.to_string();
    // Every node lists every other as a seed, as static seeds or DNS discovery would: a
    // restarted node then rejoins the cluster instead of founding a second one of its own
    // (two clusters that never heard of each other each run the singleton, by design).
    if !sim.form_mesh(&names).map_err(e)? {
        return Err("the cluster never formed".into());
    }
    sim.add_singleton(SINGLETON);
    for id in ids() {
        let from = &names[rng.random_range(0..NODES)];
        sim.start_child(from, spec(&id))
            .map_err(e)?
            .map_err(|e| format!("placing {id}: {e}"))?;
    }
    let up = sim.run_until(settled, Duration::from_millis(50), Duration::from_secs(10));
    if !up.map_err(e)? {
        return Err(format!("the children never all ran: {:?}", sim.child_instances()));
    }
    let mut paused: Vec<String> = Vec::new();
    for _ in 0..60 {
        let node = names[rng.random_range(0..NODES)].clone();
        match rng.random_range(0..17) {
            0 | 1 if another_holds_all(&sim, &names, &node) => {
                let _ = sim.crash(&node);
                paused.retain(|p| *p != node);
            }
            2 if another_holds_all(&sim, &names, &node) && !paused.contains(&node) => {
                let _ = sim.leave(&node);
            }
            3 | 4 => {
                let _ = sim.restart(&node);
            }
            5 if !sim.is_partitioned() => {
                let (a, b): (Vec<&str>, Vec<&str>) = names
                    .iter()
                    .map(String::as_str)
                    .partition(|_| rng.random_bool(0.5));
                let _ = sim.partition(&a, &b);
            }
            6 => sim.heal(),
            7 | 8 => {
                let id = format!("child-{}", rng.random_range(0..CHILDREN));
                let _ = sim.crash_child(&node, &id);
            }
            9 => {
                let id = format!("child-{}", rng.random_range(0..CHILDREN));
                let to = &names[rng.random_range(0..NODES)];
                let _ = sim.migrate_child(&node, &id, to);
            }
            // The guard pauses the node: a node that cannot be paused (not running) is skipped.
            10 | 11
                if paused.len() < 2 && another_holds_all(&sim, &names, &node) && sim.pause(&node).is_ok() =>
            {
                paused.push(node);
            }
            12 | 13 if !paused.is_empty() => {
                let _ = sim.resume(&paused.swap_remove(0));
            }
            14 => rolling_restart(&mut sim, &names, &paused, &mut rng).map_err(e)?,
            _ => {}
        }
        sim.run_for(Duration::from_millis(rng.random_range(1..1_500)))
            .map_err(e)?;
    }
    // Calm: heal, resume, let leaving nodes finish, bring everyone back, let the cluster
    // converge and go quiet.
    sim.heal();
    for node in paused {
        let _ = sim.resume(&node);
    }
    let leaving = |sim: &Sim| names.iter().any(|n| sim.state(n) == Some(NodeState::Leaving));
    let left = sim.run_until(
        |s| !leaving(s),
        Duration::from_millis(10),
        Duration::from_secs(10),
    );
    if !left.map_err(e)? {
        return Err("a leaving node never finished leaving".into());
    }
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
    let rest = |sim: &Sim| quiet(sim, &names);
    let quiet = sim.run_until(rest, Duration::from_millis(100), Duration::from_secs(30));
    sim.run_for(Duration::from_secs(3)).map_err(e)?;
    if !quiet.map_err(e)? || !rest(&sim) {
        return Err(format!(
            "after the calm, not exactly one instance each: {}",
            odd_ones(&sim, &names)
        ));
    }
    check(&sim, &names)
}

/// Restarts every running node, one at a time, as `shoal cluster restart --rolling` does
/// but without waiting for the supervisor to settle in between: each node leaves (its
/// handoffs go out), is started again as soon as it stopped, and the next one leaves once
/// the restarted node holds every child spec (the table lives in memory: a node must have
/// merged it before the last node holding it goes), with the handoffs of the previous node
/// possibly still in flight.
fn rolling_restart(
    sim: &mut Sim,
    names: &[String],
    paused: &[String],
    rng: &mut StdRng,
) -> Result<(), shoal_sim::SimError> {
    for node in names {
        let leaving = sim.state(node) == Some(NodeState::Leaving);
        let alone = !another_holds_all(sim, names, node);
        if !sim.is_running(node) || leaving || alone || paused.contains(node) {
            continue;
        }
        if sim.leave(node).is_err() {
            continue;
        }
        let gone = |s: &Sim| s.state(node) != Some(NodeState::Leaving);
        sim.run_until(gone, Duration::from_millis(10), Duration::from_secs(10))?;
        let _ = sim.restart(node);
        let merged = |s: &Sim| {
            s.child_table(node)
                .is_some_and(|t| ids().iter().all(|id| t.iter().any(|r| r.spec.id == *id)))
        };
        if !sim.run_until(merged, Duration::from_millis(10), Duration::from_secs(10))? {
            return Ok(()); // cut off from every holder: an operator's restart would stop here
        }
        sim.run_for(Duration::from_millis(rng.random_range(0..300)))?;
    }
    Ok(())
}

/// The children (and singleton) that do not run exactly once, with n1's record of them.
fn odd_ones(sim: &Sim, names: &[String]) -> String {
    let instances = sim.child_instances();
    let table = sim.child_table(&names[0]).unwrap_or_default();
    let mut out: Vec<String> = ids()
        .into_iter()
        .filter(|id| instances.get(id).is_none_or(|p| p.len() != 1))
        .map(|id| {
            let on: Vec<String> = instances
                .get(&id)
                .into_iter()
                .flatten()
                .map(|p| p.node.to_string())
                .collect();
            let record = table.iter().find(|r| r.spec.id == id);
            let owner = record.map(|r| (r.owner.to_string(), r.handoff_from.clone(), r.failed.clone()));
            format!("{id} runs on {on:?}, n1 says {owner:?}")
        })
        .collect();
    out.push(format!("singleton on {:?}", sim.singleton_instances(SINGLETON)));
    let digest = sim.child_digest(&names[0]);
    for n in names.iter().filter(|n| sim.child_digest(n) != digest) {
        out.push(format!("{n}'s table differs from n1's"));
    }
    for r in table.iter().filter(|r| r.handoff_from.is_some()) {
        let on = instances
            .get(&r.spec.id)
            .map(|p| p.iter().map(|p| p.node.to_string()).collect::<Vec<_>>());
        out.push(format!(
            "{} still moves to {} from {:?} (runs on {on:?})",
            r.spec.id, r.owner, r.handoff_from
        ));
    }
    out.join("; ")
}

/// After quiet: same table everywhere, no spec lost or given up, every child resolves by name
/// to its one instance on every node.
fn check(sim: &Sim, names: &[String]) -> Result<(), String> {
    let digest = sim.child_digest(&names[0]);
    if let Some(n) = names.iter().find(|n| sim.child_digest(n) != digest) {
        return Err(format!("n1 and {n} hold different child tables"));
    }
    let table = sim.child_table(&names[0]).ok_or("n1 is not running")?;
    for id in ids() {
        let Some(record) = table.iter().find(|r| r.spec.id == id) else {
            return Err(format!("{id} was lost from the table"));
        };
        if let Some(reason) = &record.failed {
            return Err(format!("{id} was given up: {reason}"));
        }
        let instance = &sim.child_instances()[&id][0];
        if instance.node.name != record.owner {
            return Err(format!(
                "{id} runs on {} but its owner is {}",
                instance.node, record.owner
            ));
        }
        for n in names {
            let view = sim
                .registry_view(n)
                .ok_or_else(|| format!("{n} is not running"))?;
            let resolved = view.iter().find(|(name, _)| *name == id).map(|(_, r)| &r.pid);
            if resolved != Some(instance) {
                return Err(format!(
                    "{n} resolves {id} to {resolved:?}, but {instance} runs it"
                ));
            }
        }
    }
    Ok(())
}

fn run_seeds(rebalance: bool) {
    let failures: Vec<String> = seeds(100)
        .into_iter()
        .filter_map(|seed| {
            run(seed, rebalance).err().map(|e| {
                format!("seed {seed}: {e}\n  replay: SHOAL_SIM_SEED={seed} cargo test -p shoal-sim --test supervisor")
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn one_instance_per_child_and_never_two_on_the_majority_side() {
    run_seeds(false);
}

#[test]
fn the_same_holds_with_rebalancing_on_join() {
    run_seeds(true);
}
