//! scratch
use shoal_sim::*;
use std::time::Duration;

fn cluster(seed: u64) -> Sim {
    let mut sim = Sim::new(seed, SimConfig::lan());
    sim.add_node("n1", &[]).unwrap();
    for i in 2..=5 {
        sim.add_node(&format!("n{i}"), &["n1"]).unwrap();
    }
    assert!(
        sim.run_until(
            |s| s.is_converged(),
            Duration::from_millis(10),
            Duration::from_secs(10)
        )
        .unwrap()
    );
    sim.run_for(Duration::from_secs(1)).unwrap();
    sim
}

#[test]
fn explore_leave() {
    let mut sim = cluster(3);
    let n = sim.history().records().len();
    let _g =
        tracing::subscriber::set_default(tracing_subscriber::fmt().with_env_filter("foca=trace").finish());
    let d = sim.stats();
    sim.leave("n2").unwrap();
    println!(
        "leave sent {} datagrams {} link msgs",
        sim.stats().datagrams - d.datagrams,
        sim.stats().link_messages - d.link_messages
    );
    sim.run_for(Duration::from_secs(3)).unwrap();
    for r in &sim.history().records()[n..] {
        println!(
            "{:?} {} {}",
            r.at,
            r.observer,
            shoal_sim::history::describe(&r.event)
        );
    }
    println!("{:?}", sim.stats());
}

#[test]
fn explore_partition() {
    let mut sim = cluster(3);
    let n = sim.history().records().len();
    sim.partition(&["n1", "n2"], &["n3", "n4", "n5"]).unwrap();
    sim.run_for(Duration::from_secs(10)).unwrap();
    sim.heal();
    let ok = sim
        .run_until(
            |s| s.is_converged(),
            Duration::from_millis(10),
            Duration::from_secs(30),
        )
        .unwrap();
    for r in &sim.history().records()[n..] {
        println!(
            "{:?} {} {}",
            r.at,
            r.observer,
            shoal_sim::history::describe(&r.event)
        );
    }
    println!("{ok} {:?} {:?}", sim.now(), sim.stats());
}
