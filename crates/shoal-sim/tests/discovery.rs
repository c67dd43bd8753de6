//! Discovery only adds candidates: a node's proposals follow its DNS name (here, its seeds,
//! changed with `Step::SetSeeds`), and a name that answers with fewer hosts, or none, never
//! takes a live member away. Membership alone decides who is down.
//!
//! Replay one seed with `SHOAL_SIM_SEED=<seed> cargo test -p shoal-sim --test discovery`.

use shoal_sim::{Expect, Scenario, SimConfig, Step, seeds};

const SIX: [&str; 6] = ["n1", "n2", "n3", "n4", "n5", "n6"];

#[test]
fn fewer_or_no_records_keep_every_live_member_on_a_lossy_network() {
    let scenario = Scenario::new("six nodes from one name; the name shrinks to three, then to none")
        .with_config(SimConfig::lan().with_loss(0.05))
        .then_all(SIX.iter().map(|n| Step::add(n, &SIX)))
        .then(Step::expect(Expect::Converged, 20))
        .then_all(SIX.iter().map(|n| Step::set_seeds(n, &["n1", "n2", "n3"])))
        .then(Step::run_ms(20_000))
        .then(Step::expect(Expect::Converged, 0))
        .then_all(SIX.iter().map(|n| Step::set_seeds(n, &[])))
        .then(Step::run_ms(20_000))
        .then(Step::expect(Expect::NoFalseFailure, 0))
        .then(Step::expect(Expect::Converged, 0));
    let sims = scenario.check(&seeds(4));
    assert!(sims.iter().all(|sim| sim.names().count() == 6));
}

#[test]
fn a_node_that_finds_nobody_is_brought_in_when_the_name_grows() {
    // n4 discovers nobody itself; the others' name starts answering with it too.
    let scenario = Scenario::new("a name grows by one host")
        .then_all(
            ["n1", "n2", "n3"]
                .iter()
                .map(|n| Step::add(n, &["n1", "n2", "n3"])),
        )
        .then(Step::add("n4", &[]))
        .then(Step::run_ms(5_000))
        .then_all(
            ["n1", "n2", "n3"]
                .iter()
                .map(|n| Step::set_seeds(n, &["n1", "n2", "n3", "n4"])),
        )
        .then(Step::expect(Expect::Converged, 10))
        .then(Step::expect(Expect::NoFalseFailure, 0));
    scenario.check(&seeds(4));
}
