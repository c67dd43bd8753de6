//! A run is a pure function of its seed and script, and a failure says how to replay it.

use std::time::Duration;

use shoal_sim::{Expect, Scenario, Step};

fn eventful() -> Scenario {
    Scenario::new("eventful")
        .then(Step::add("n1", &[]))
        .then_all((2..=4).map(|i| Step::add(&format!("n{i}"), &["n1"])))
        .then(Step::expect(Expect::Converged, 10))
        .then(Step::partition(&["n1"], &["n2", "n3", "n4"]))
        .then(Step::run_ms(2_000))
        .then(Step::crash("n3"))
        .then(Step::Heal)
        .then(Step::restart("n3"))
        .then(Step::leave("n4"))
        .then(Step::Run(Duration::from_secs(10)))
}

#[test]
fn the_same_seed_replays_the_same_history() {
    let first = eventful().run(42).unwrap();
    let again = eventful().run(42).unwrap();
    assert!(first.history().records().len() > 20, "the script is eventful");
    assert_eq!(first.history(), again.history());
    assert_eq!(first.stats(), again.stats());
    let other = eventful().run(43).unwrap();
    assert_ne!(first.history(), other.history(), "another seed, another run");
}

#[test]
fn a_failure_names_the_seed_the_step_and_the_replay_command() {
    let failure = Scenario::new("impossible")
        .then(Step::add("n1", &[]))
        .then(Step::add("n2", &["n1"]))
        .then(Step::expect(Expect::Converged, 5))
        .then(Step::expect(Expect::NeverMember("n2".into()), 0))
        .run(5)
        .unwrap_err();
    assert_eq!((failure.seed, failure.step), (5, 3));
    let report = failure.to_string();
    assert!(
        report.contains("SHOAL_SIM_SEED=5 cargo test -p shoal-sim"),
        "{report}"
    );
    assert!(
        report.contains("NeverMember(n2)") && report.contains("n1#1 reported n2#"),
        "{report}"
    );
}
