//! Membership scenarios on a small cluster, each run under many seeds.
//!
//! Replay one failing seed with `SHOAL_SIM_SEED=<seed> cargo test -p shoal-sim <test name>`;
//! run more seeds with `SHOAL_SIM_SEEDS=<count>`.

use std::time::Duration;

use shoal_proto::DownReason;
use shoal_sim::{Expect, Scenario, Sim, Step, seeds};

/// Seeds per scenario by default.
const SEEDS: u64 = 20;

/// n1 to n5, all joining through n1, until every node sees every other.
fn five_node_cluster(name: &str) -> Scenario {
    Scenario::new(name)
        .then(Step::add("n1", &[]))
        .then_all((2..=5).map(|i| Step::add(&format!("n{i}"), &["n1"])))
        .then(Step::expect(Expect::Converged, 10))
        .then(Step::expect(Expect::FullMesh, 5))
}

#[test]
fn five_nodes_converge_to_a_full_view_on_every_node() {
    five_node_cluster("five nodes converge")
        .then(Step::run_ms(5_000))
        .then(Step::expect(Expect::Converged, 0))
        .then(Step::expect(Expect::NoFalseFailure, 0))
        .check(&seeds(SEEDS));
}

#[test]
fn nodes_started_in_any_order_converge_through_any_seed() {
    // n3 starts first and is everyone's seed but its own; n1 joins through n5, which joins
    // through n1: a chain that only discovery retries resolve.
    Scenario::new("chained seeds")
        .then(Step::add("n3", &["n2"]))
        .then(Step::add("n2", &["n3"]))
        .then(Step::run_ms(300))
        .then(Step::add("n5", &["n1"]))
        .then(Step::add("n1", &["n5", "n3"]))
        .then(Step::add("n4", &["n3"]))
        .then(Step::expect(Expect::Converged, 10))
        .check(&seeds(SEEDS));
}

#[test]
fn a_crashed_node_is_declared_crashed_by_every_survivor() {
    five_node_cluster("crash")
        .then(Step::run_ms(1_000))
        .then(Step::crash("n3"))
        .then(Step::expect(
            Expect::Down {
                name: "n3".into(),
                reasons: vec![DownReason::Crashed],
            },
            5,
        ))
        .then(Step::expect(Expect::Converged, 5))
        .then(Step::expect(Expect::NoFalseFailure, 0))
        .check(&seeds(SEEDS));
}

#[test]
fn a_killed_node_is_declared_down_within_milliseconds_through_the_refused_redial() {
    // The link drops (≤ 2 ms), the re-dial is refused (≤ 4 ms round trip): no probe needed.
    five_node_cluster("crash is detected at once")
        .then(Step::run_ms(1_000))
        .then(Step::crash("n4"))
        .then(Step::Expect {
            what: Expect::Down {
                name: "n4".into(),
                reasons: vec![DownReason::Crashed],
            },
            within: Duration::from_millis(10),
        })
        .check(&seeds(SEEDS));
}

#[test]
fn an_isolated_node_is_declared_down_by_the_silence_rule_then_rejoins_as_a_new_life() {
    // Link silence: suspect after 500 ms, down after 1 s, checked every 100 ms heartbeat.
    five_node_cluster("isolated node")
        .then(Step::run_ms(1_000))
        .then(Step::partition(&["n2"], &["n1", "n3", "n4", "n5"]))
        .then(Step::Expect {
            what: Expect::Check {
                what: "nobody lists n2 and n2 lists nobody",
                check: n2_cut_off,
            },
            within: Duration::from_millis(1_200),
        })
        .then(Step::Heal)
        .then(Step::expect(Expect::Converged, 10))
        .then(Step::expect(Expect::FullMesh, 5))
        .then(Step::expect(
            Expect::Check {
                what: "n2 renewed",
                check: n2_renewed,
            },
            0,
        ))
        .check(&seeds(SEEDS));
}

#[test]
fn a_crashed_seed_is_declared_down_and_the_rest_stay_together() {
    five_node_cluster("crash the seed")
        .then(Step::run_ms(500))
        .then(Step::crash("n1"))
        .then(Step::expect(
            Expect::Down {
                name: "n1".into(),
                reasons: vec![DownReason::Crashed, DownReason::Failed],
            },
            5,
        ))
        .then(Step::run_ms(10_000))
        .then(Step::expect(Expect::Converged, 0))
        .then(Step::expect(Expect::NoFalseFailure, 0))
        .check(&seeds(SEEDS));
}

#[test]
fn partition_then_heal_reconverges_to_one_view() {
    five_node_cluster("partition and heal")
        .then(Step::run_ms(1_000))
        .then(Step::partition(&["n1", "n2"], &["n3", "n4", "n5"]))
        .then(Step::expect(
            Expect::Check {
                what: "each side sees only itself",
                check: split_views,
            },
            10,
        ))
        .then(Step::Heal)
        .then(Step::expect(Expect::Converged, 30))
        .then(Step::expect(Expect::FullMesh, 5))
        .check(&seeds(SEEDS));
}

#[test]
fn a_short_partition_heals_without_anyone_being_declared_down() {
    // 300 ms is below `link_suspect_after`: links stay up and nobody is suspected long enough.
    five_node_cluster("short partition")
        .then(Step::run_ms(1_000))
        .then(Step::partition(&["n1", "n2"], &["n3", "n4", "n5"]))
        .then(Step::run_ms(300))
        .then(Step::Heal)
        .then(Step::run_ms(5_000))
        .then(Step::expect(Expect::Converged, 0))
        .then(Step::expect(Expect::NoFalseFailure, 0))
        .check(&seeds(SEEDS));
}

#[test]
fn a_restarted_node_replaces_its_old_self_with_no_ghost() {
    let replaced = || Expect::Down {
        name: "n3".into(),
        reasons: vec![DownReason::Replaced, DownReason::Crashed, DownReason::Failed],
    };
    let sims = five_node_cluster("restart in place")
        .then(Step::run_ms(1_000))
        .then(Step::crash("n3"))
        .then(Step::restart("n3"))
        .then(Step::expect(replaced(), 10))
        .then(Step::expect(Expect::Converged, 10))
        .then(Step::expect(Expect::NoFalseFailure, 0))
        .check(&seeds(SEEDS));
    for sim in sims {
        assert_eq!(
            sim.ids("n3").map(<[_]>::len),
            Some(2),
            "one restart, no renewal: {:?}",
            sim.ids("n3")
        );
    }
}

#[test]
fn a_node_restarted_on_a_new_address_replaces_its_old_self() {
    five_node_cluster("restart elsewhere")
        .then(Step::run_ms(1_000))
        .then(Step::crash("n3"))
        .then(Step::run_ms(50))
        .then(Step::RestartAtNewAddress("n3".into()))
        .then(Step::expect(
            Expect::Down {
                name: "n3".into(),
                reasons: vec![DownReason::Replaced, DownReason::Crashed, DownReason::Failed],
            },
            10,
        ))
        .then(Step::expect(Expect::Converged, 10))
        .check(&seeds(SEEDS));
}

#[test]
fn graceful_leave_yields_left_on_every_other_node() {
    five_node_cluster("leave")
        .then(Step::run_ms(1_000))
        .then(Step::leave("n2"))
        .then(Step::expect(
            Expect::Down {
                name: "n2".into(),
                reasons: vec![DownReason::Left],
            },
            5,
        ))
        .then(Step::expect(Expect::Converged, 5))
        .then(Step::expect(Expect::NoFalseFailure, 0))
        .check(&seeds(SEEDS));
}

#[test]
fn a_node_with_the_wrong_cookie_never_becomes_a_member_anywhere() {
    let sims = five_node_cluster("wrong cookie")
        .then(Step::stranger("x", &["n1", "n4"]))
        .then(Step::run_ms(10_000))
        .then(Step::expect(Expect::NeverMember("x".into()), 0))
        .then(Step::expect(Expect::Converged, 0))
        .check(&seeds(SEEDS));
    for sim in sims {
        assert!(
            sim.stats().handshake_failures > 0,
            "the stranger's dials were refused: {:?}",
            sim.stats()
        );
    }
}

#[test]
fn a_node_restarted_with_the_wrong_cookie_goes_down_and_never_rejoins() {
    let sims = five_node_cluster("restart with the wrong cookie")
        .then(Step::run_ms(1_000))
        .then(Step::crash("n5"))
        .then(Step::RestartAsStranger("n5".into()))
        .then(Step::expect(
            Expect::Down {
                name: "n5".into(),
                reasons: vec![DownReason::Crashed, DownReason::Failed],
            },
            10,
        ))
        .then(Step::run_ms(10_000))
        .then(Step::expect(Expect::Converged, 0))
        .then(Step::expect(
            Expect::Check {
                what: "n5's new life is nobody's member",
                check: n5_alone,
            },
            0,
        ))
        .check(&seeds(SEEDS));
    for sim in sims {
        assert!(
            sim.stats().handshake_failures > 0,
            "re-dials hit the wrong cookie: {:?}",
            sim.stats()
        );
        let refused = sim.membership("n5").map(|m| m.stats().bad_datagrams);
        assert!(
            refused > Some(0),
            "n5 dropped the cluster's gossip as unauthenticated: {refused:?}"
        );
    }
}

/// n1 and n2 see only each other; n3, n4, n5 see only one another.
fn split_views(sim: &Sim) -> Result<(), String> {
    let sides: [&[&str]; 2] = [&["n1", "n2"], &["n3", "n4", "n5"]];
    for (side, other) in [(sides[0], sides[1]), (sides[1], sides[0])] {
        for name in side {
            let view = sim.view(name).ok_or("missing node")?;
            if let Some(seen) = other.iter().find(|o| view.keys().any(|k| k.as_str() == **o)) {
                return Err(format!("{name} still lists {seen}"));
            }
        }
    }
    Ok(())
}

/// No node lists n5 and n5 lists nobody.
fn n5_alone(sim: &Sim) -> Result<(), String> {
    if sim.view("n5").is_some_and(|v| !v.is_empty()) {
        return Err(format!("n5 lists {:?}", sim.view("n5")));
    }
    for name in ["n1", "n2", "n3", "n4"] {
        if let Some(id) = sim
            .view(name)
            .and_then(|v| v.values().find(|id| id.name.as_str() == "n5"))
        {
            return Err(format!("{name} lists {id}"));
        }
    }
    Ok(())
}

/// n2 lists nobody and nobody lists n2.
fn n2_cut_off(sim: &Sim) -> Result<(), String> {
    if let Some(view) = sim.view("n2").filter(|v| !v.is_empty()) {
        return Err(format!("n2 still lists {view:?}"));
    }
    for name in ["n1", "n3", "n4", "n5"] {
        if let Some(id) = sim
            .view(name)
            .and_then(|v| v.values().find(|id| id.name.as_str() == "n2"))
        {
            return Err(format!("{name} still lists {id}"));
        }
    }
    Ok(())
}

/// n2 goes by a newer creation than it started with (it was declared down and rejoined).
fn n2_renewed(sim: &Sim) -> Result<(), String> {
    match sim.ids("n2") {
        Some([first, .., now]) if now.creation > first.creation => Ok(()),
        other => Err(format!("n2's lives: {other:?}")),
    }
}

/// Issue 16, item 2: a node stopped for 10 s (`SIGSTOP`) is declared down by the others, and
/// on resume its timers fire before it reads what waited in its sockets. It must not declare
/// its healthy peers down from a silence it measured while it did not run (before the stall
/// rule, every seed had the resumed node take all four peers down, and its gossip spread it).
#[test]
fn a_paused_node_that_resumes_takes_no_healthy_peer_down() {
    five_node_cluster("pause and resume")
        .then(Step::run_ms(1_000))
        .then(Step::Pause("n2".into()))
        .then(Step::expect(
            Expect::Down {
                name: "n2".into(),
                reasons: vec![DownReason::Failed],
            },
            5,
        ))
        .then(Step::run_ms(7_000))
        .then(Step::Resume("n2".into()))
        .then(Step::run_ms(5_000))
        .then(Step::expect(Expect::Converged, 10))
        .then(Step::expect(Expect::NoFalseFailure, 0))
        .check(&seeds(SEEDS));
}
