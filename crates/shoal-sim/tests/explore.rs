//! scratch
use shoal_sim::*;
use std::time::Duration;

#[test]
fn explore_partition() {
    let sc = Scenario::new("x")
        .then(Step::add("n1", &[]))
        .then_all((2..=5).map(|i| Step::add(&format!("n{i}"), &["n1"])))
        .then(Step::expect(Expect::Converged, 10))
        .then(Step::expect(Expect::FullMesh, 5))
        .then(Step::run_ms(1000))
        .then(Step::partition(&["n1", "n2"], &["n3", "n4", "n5"]));
    let mut sim = sc.run(3).unwrap();
    let _g = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_env_filter("foca=debug,shoal_sim=debug")
            .without_time()
            .with_ansi(false)
            .finish(),
    );
    sim.run_for(Duration::from_millis(1300)).unwrap();
}
