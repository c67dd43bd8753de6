//! scratch
use shoal_sim::*;
use std::time::{Duration, Instant};

#[test]
fn explore() {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let secs: u64 = std::env::var("SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let t = Instant::now();
    let mut sim = Sim::new(1, SimConfig::lan().with_loss(0.01));
    sim.add_node("n1", &[]).unwrap();
    for i in 2..=n {
        sim.add_node(&format!("n{i}"), &["n1"]).unwrap();
    }
    let ok = sim
        .run_until(
            |s| s.is_converged(),
            Duration::from_millis(10),
            Duration::from_secs(30),
        )
        .unwrap();
    println!(
        "converged={ok} at {:?} stats {:?} wall {:?}",
        sim.now(),
        sim.stats(),
        t.elapsed()
    );
    let t = Instant::now();
    sim.run_for(Duration::from_secs(secs)).unwrap();
    println!(
        "after {secs}s: converged={} false={} stats {:?} wall {:?}",
        sim.is_converged(),
        sim.history().false_failure_count(),
        sim.stats(),
        t.elapsed()
    );
}
