//! The global registry under random faults: nodes register and drop names while others crash,
//! restart, and get partitioned and healed. After the network heals and goes quiet, every node
//! holds the same view, and no name points to a dead node or an older process of a node.
//!
//! Replay one failing seed with `SHOAL_SIM_SEED=<seed> cargo test -p shoal-sim --test registry`.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shoal_sim::{Sim, SimConfig, seeds};

const NODES: usize = 5;
const NAMES: u64 = 8;
const ACTORS: u64 = 4;

fn names() -> Vec<String> {
    (1..=NODES).map(|i| format!("n{i}")).collect()
}

/// One random history for `seed`; returns how many names survive, or the first broken rule.
fn run(seed: u64) -> Result<usize, String> {
    let mut sim = Sim::new(seed, SimConfig::lan());
    let mut rng = StdRng::seed_from_u64(seed ^ 0x4e61_6d65_5265_6700);
    let names = names();
    sim.add_node("n1", &[]).map_err(|e| e.to_string())?;
    for n in &names[1..] {
        sim.add_node(n, &["n1", "n2"]).map_err(|e| e.to_string())?;
    }
    let converged = sim.run_until(
        Sim::is_converged,
        Duration::from_millis(100),
        Duration::from_secs(20),
    );
    if !converged.map_err(|e| e.to_string())? {
        return Err("the cluster never formed".into());
    }
    for _ in 0..80 {
        let node = names[rng.random_range(0..NODES)].clone();
        match rng.random_range(0..12) {
            0..=4 => {
                let name = format!("name{}", rng.random_range(0..NAMES));
                let _ = sim.register(&node, &name, rng.random_range(0..ACTORS));
            }
            5 => {
                let _ = sim.stop_actor(&node, rng.random_range(0..ACTORS));
            }
            6 => {
                let _ = sim.crash(&node);
            }
            7 => {
                let _ = sim.restart(&node);
            }
            8 => {
                let (a, b): (Vec<&str>, Vec<&str>) = {
                    let mut a = Vec::new();
                    let mut b = Vec::new();
                    for n in &names {
                        if rng.random_bool(0.5) {
                            a.push(n.as_str())
                        } else {
                            b.push(n.as_str())
                        }
                    }
                    (a, b)
                };
                let _ = sim.partition(&a, &b);
            }
            9 => sim.heal(),
            _ => {}
        }
        sim.run_for(Duration::from_millis(rng.random_range(1..1_500)))
            .map_err(|e| e.to_string())?;
    }
    // Calm: heal, bring everyone back, let the cluster converge and go quiet.
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
    if !calm.map_err(|e| e.to_string())? {
        return Err("no single view after the calm".into());
    }
    sim.run_for(Duration::from_secs(3)).map_err(|e| e.to_string())?;
    check(&sim, &names)?;
    Ok(sim.registry_view(&names[0]).map_or(0, |v| v.len()))
}

/// The registry invariants once the network is whole and quiet.
fn check(sim: &Sim, names: &[String]) -> Result<(), String> {
    let first = sim.registry_view(&names[0]).ok_or("n1 is not running")?;
    for n in &names[1..] {
        let view = sim
            .registry_view(n)
            .ok_or_else(|| format!("{n} is not running"))?;
        if view != first {
            return Err(format!("n1 and {n} disagree:\n  n1: {first:?}\n  {n}: {view:?}"));
        }
    }
    for (name, registration) in &first {
        let owner = registration.pid.node.name.as_str();
        if sim.process_id(owner).as_ref() != Some(&registration.pid.node) {
            return Err(format!(
                "{name} points to {} but {owner} runs as {:?}",
                registration.pid,
                sim.process_id(owner)
            ));
        }
    }
    Ok(())
}

#[test]
fn registries_agree_and_hold_no_stale_entries_after_random_faults() {
    let mut failures = Vec::new();
    let mut surviving = 0;
    for seed in seeds(20) {
        match run(seed) {
            Ok(names) => surviving += names,
            Err(e) => failures.push(format!(
                "seed {seed}: {e}\n  replay: SHOAL_SIM_SEED={seed} cargo test -p shoal-sim --test registry"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The histories must exercise something: names that outlive the faults.
    assert!(
        surviving > 0,
        "no seed kept any name; the script registers too little"
    );
}

/// Whether `observer` reported some life of `subject` down as `Renewed`.
fn reported_renewed(sim: &Sim, observer: &str, subject: &str) -> bool {
    let observer = shoal_proto::NodeName::new(observer).unwrap();
    sim.history().by(&observer).any(|r| {
        matches!(&r.event, shoal_proto::Event::NodeDown { id, reason: shoal_proto::DownReason::Renewed }
            if id.name.as_str() == subject)
    })
}

/// Whether `observer` reported the actors of some life of `subject` down (`ActorsDown`).
fn reported_actors_down(sim: &Sim, observer: &str, subject: &str) -> bool {
    let observer = shoal_proto::NodeName::new(observer).unwrap();
    sim.history()
        .by(&observer)
        .any(|r| matches!(&r.event, shoal_proto::Event::ActorsDown(id) if id.name.as_str() == subject))
}

/// n1 is cut off from n2 and n3 and declares n3 down; after the heal, n1's stale view tells
/// n2 that n3 is down while n2 still hears n3 on its link, so n2 reports n3 `Renewed` (its
/// process should run on and take a new life). But n3 stops right then (frozen, later
/// killed) and never takes a new life: n2 must still drop n3's names once no newer life came
/// (`ActorsDown`), or a name points at a dead process for good (and a supervised child of
/// that name is never restarted: its owner waits for the name to be free).
#[test]
fn a_node_reported_renewed_that_never_comes_back_loses_its_names() {
    let mut exercised = 0;
    for seed in seeds(20) {
        let mut sim = Sim::new(seed, SimConfig::lan());
        sim.add_node("n1", &[]).unwrap();
        sim.add_node("n2", &["n1"]).unwrap();
        sim.add_node("n3", &["n1"]).unwrap();
        let poll = Duration::from_millis(1);
        let max = Duration::from_secs(20);
        assert!(sim.run_until(Sim::is_converged, poll, max).unwrap());
        sim.register("n3", "x", 0).unwrap().unwrap();
        sim.run_for(Duration::from_secs(1)).unwrap();
        sim.partition(&["n1"], &["n2", "n3"]).unwrap();
        let n1_dropped_n3 = |s: &Sim| !s.view("n1").unwrap().keys().any(|n| n.as_str() == "n3");
        assert!(sim.run_until(n1_dropped_n3, poll, max).unwrap());
        sim.heal();
        let renewed = |s: &Sim| reported_renewed(s, "n2", "n3");
        if !sim.run_until(renewed, poll, Duration::from_secs(5)).unwrap() {
            continue;
        }
        sim.pause("n3").unwrap();
        sim.run_for(Duration::from_secs(3)).unwrap();
        sim.crash("n3").unwrap();
        sim.run_for(Duration::from_secs(10)).unwrap();
        exercised += usize::from(reported_actors_down(&sim, "n2", "n3"));
        for node in ["n1", "n2"] {
            let view = sim.registry_view(node).unwrap();
            assert!(
                view.iter().all(|(name, _)| name != "x"),
                "seed {seed}: {node} still resolves n3's name after n3 died: {view:?}"
            );
        }
    }
    assert!(
        exercised > 0,
        "no seed had n2 report n3 Renewed, then its actors down"
    );
}
