//! Issue 16: two ends of a link that renew at the same moment, after a heal.
//!
//! Replay one failing seed with `SHOAL_SIM_SEED=<seed> cargo test -p shoal-sim --test
//! retired_links`; run more seeds with `SHOAL_SIM_SEEDS=<count>`.

use std::time::Duration;

use shoal_proto::Event;
use shoal_sim::{Sim, SimConfig, SimError, seeds};

/// Seeds run by default.
const SEEDS: u64 = 100;

/// Three nodes, n1 cut off from n2 and n3 long enough that both sides declare the other down,
/// then healed: each side learns it was declared down and takes a new life at about the same
/// moment as its peers, so both ends of a pair retire and re-dial links at once. A retired
/// link stops writing and reads on for a second (the simulator models this as shoal-node does);
/// the side that still held it as current must learn it was retired (the `Retired` frame)
/// rather than hear nothing and declare a running peer `Failed` a second later.
#[test]
fn both_ends_renewing_at_once_after_a_heal_declare_nobody_failed() {
    for seed in seeds(SEEDS) {
        let (sim, healed_at) = partition_and_heal(seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let renewed = sim
            .history()
            .records()
            .iter()
            .filter(|r| r.at > healed_at && matches!(r.event, Event::Renewed(_)))
            .count();
        assert!(
            renewed >= 2,
            "seed {seed}: only {renewed} renewals after the heal"
        );
        let false_downs: Vec<_> = sim
            .history()
            .false_failures()
            .filter(|r| r.at > healed_at)
            .map(|r| format!("{} at {:?}: {:?}", r.observer, r.at, r.event))
            .collect();
        assert!(
            false_downs.is_empty(),
            "seed {seed}: running lives declared down after the heal:\n{}\nreplay: SHOAL_SIM_SEED={seed} cargo test -p shoal-sim --test retired_links",
            false_downs.join("\n")
        );
    }
}

/// Runs the script with `seed`; returns the simulation 10 s after it converged again, and
/// when the heal was.
fn partition_and_heal(seed: u64) -> Result<(Sim, Duration), SimError> {
    let poll = Duration::from_millis(100);
    let mut sim = Sim::new(seed, SimConfig::lan());
    sim.add_node("n1", &[])?;
    sim.add_node("n2", &["n1"])?;
    sim.add_node("n3", &["n1"])?;
    let converged = sim.run_until(Sim::is_converged, poll, Duration::from_secs(10))?;
    assert!(converged, "seed {seed}: three nodes did not converge");
    sim.run_for(Duration::from_secs(1))?;
    sim.partition(&["n1"], &["n2", "n3"])?;
    let split = sim.run_until(
        |s| s.view("n1").is_some_and(|v| v.is_empty()),
        poll,
        Duration::from_secs(10),
    )?;
    assert!(split, "seed {seed}: n1 still lists {:?}", sim.view("n1"));
    sim.run_for(Duration::from_secs(1))?;
    sim.heal();
    let healed_at = sim.now();
    let converged = sim.run_until(Sim::is_converged, poll, Duration::from_secs(30))?;
    assert!(converged, "seed {seed}: no convergence after the heal");
    sim.run_for(Duration::from_secs(10))?;
    Ok((sim, healed_at))
}
