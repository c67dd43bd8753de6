//! Random fault scripts: each seed draws a script of crashes, restarts, leaves, partitions and
//! heals, then calms down (heal, restart everyone) and expects one view again. The invariants
//! are checked after every step throughout.
//!
//! Replay one failing seed with `SHOAL_SIM_SEED=<seed> cargo test -p shoal-sim --test chaos`.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shoal_sim::{Expect, Scenario, SimConfig, Step, seeds};

const NODES: usize = 6;

/// A random script for `seed` (drawn from its own RNG, so the script itself replays).
fn chaos_script(seed: u64, faults: usize) -> Scenario {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_c4a0_5000_0000);
    let names: Vec<String> = (1..=NODES).map(|i| format!("n{i}")).collect();
    let mut scenario = Scenario::new("random faults then calm")
        .then(Step::add("n1", &[]))
        .then_all(names[1..].iter().map(|n| Step::add(n, &["n1", "n2"])))
        .then(Step::expect(Expect::Converged, 10));
    let mut up = [true; NODES];
    for _ in 0..faults {
        let i = rng.random_range(0..NODES);
        let name = names[i].clone();
        let step = match rng.random_range(0..10) {
            0 | 1 if up[i] => {
                up[i] = false;
                Step::Crash(name)
            }
            2 if up[i] => {
                up[i] = false;
                // A leaving node runs until its departure is gossiped (50 ms) before it stops.
                scenario = scenario.then(Step::Leave(name));
                Step::run_ms(100)
            }
            3 | 4 if !up[i] => {
                up[i] = true;
                if rng.random_bool(0.5) {
                    Step::Restart(name)
                } else {
                    Step::RestartAtNewAddress(name)
                }
            }
            5 | 6 => {
                let mut sides = (Vec::new(), Vec::new());
                for n in &names {
                    if rng.random_bool(0.5) {
                        sides.0.push(n.clone())
                    } else {
                        sides.1.push(n.clone())
                    }
                }
                Step::Partition(sides.0, sides.1)
            }
            7 => Step::Heal,
            _ => Step::Run(Duration::from_millis(rng.random_range(50..3_000))),
        };
        scenario = scenario
            .then(step)
            .then(Step::Run(Duration::from_millis(rng.random_range(0..1_500))));
    }
    scenario = scenario.then(Step::Heal).then(Step::run_ms(500));
    for (i, name) in names.iter().enumerate() {
        if !up[i] {
            scenario = scenario.then(Step::Restart(name.clone()));
        }
    }
    scenario
        .then(Step::expect(Expect::Converged, 60))
        .then(Step::expect(Expect::FullMesh, 10))
}

#[test]
fn random_faults_then_calm_reconverge_to_one_view() {
    for seed in seeds(20) {
        chaos_script(seed, 30).check(&[seed]);
    }
}

#[test]
fn random_faults_on_a_lossy_slow_network_then_calm_reconverge_to_one_view() {
    let config = SimConfig {
        latency_min: Duration::from_millis(1),
        latency_max: Duration::from_millis(30),
        ..SimConfig::lan().with_loss(0.03)
    };
    for seed in seeds(10) {
        chaos_script(seed, 30).with_config(config.clone()).check(&[seed]);
    }
}
