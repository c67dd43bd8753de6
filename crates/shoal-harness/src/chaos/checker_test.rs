//! The checker on hand-made histories: a clean one passes, and each guarantee has one that
//! breaks it and is caught (and, where a fault excuses it, one that is excused).

use super::FaultKind;
use super::checker::{Guarantee, check};
use super::history::{
    ActorObs, ChildObs, DuplicateRecord, FaultRecord, History, MemberObs, NodeEvent, ProcessRecord, Sample,
};

const S: u64 = 1_000_000;
const T0: u64 = 1_800_000_000 * S;
const NODES: [&str; 3] = ["c1", "c2", "c3"];

fn pid(id: u64, node: &str) -> String {
    format!("{id}@{node}#1")
}

/// A sample of `node` at `t` seconds holding `counters` (pid, started at s, count).
fn sample(
    node: &str,
    t: f64,
    counters: &[(&str, f64, u64)],
    children: &[(&str, &str, &str, bool)],
) -> Sample {
    let at = T0 + (t * S as f64) as u64;
    Sample {
        node: node.into(),
        sent_us: at,
        recv_us: at + 2_000,
        health_ok: true,
        members: NODES
            .iter()
            .map(|n| MemberObs {
                name: (*n).into(),
                state: "alive".into(),
                linked: true,
            })
            .collect(),
        actors: counters
            .iter()
            .map(|(p, start, _)| ActorObs {
                pid: (*p).into(),
                counter: true,
                started_at_us: T0 + (start * S as f64) as u64,
            })
            .collect(),
        counts: counters.iter().map(|(p, _, n)| ((*p).to_owned(), *n)).collect(),
        children: children
            .iter()
            .map(|(id, owner, p, kept)| ChildObs {
                id: (*id).into(),
                owner: (*owner).into(),
                pid: Some((*p).into()),
                last_start: if *kept {
                    r#"{"HandedOff":{"from":"c1"}}"#.into()
                } else {
                    "\"Fresh\"".into()
                },
                state_kept: true,
                moving: false,
            })
            .collect(),
        ..Sample::default()
    }
}

fn with_registry(mut s: Sample, names: &[(&str, &str)]) -> Sample {
    s.registry = names
        .iter()
        .map(|(n, p)| ((*n).to_owned(), (*p).to_owned()))
        .collect();
    s
}

/// Counter `a` on c1 counts 0..10, is handed to c2 as `b` at 10.5 s with its count, and
/// the clock runs on c3; then a quiet round in which everything agrees.
fn clean() -> History {
    let (a, b, clock) = (pid(5, "c1"), pid(7, "c2"), pid(2, "c3"));
    let mut samples = Vec::new();
    for t in 0u32..=10 {
        let child = [("demo.counter.00", "c1", a.as_str(), false)];
        samples.push(sample("c1", f64::from(t), &[(&a, 0.0, u64::from(t))], &child));
        samples.push(with_registry(
            sample("c3", f64::from(t), &[(&clock, 0.0, u64::from(t))], &[]),
            &[("demo.clock", &clock)],
        ));
    }
    for t in 11u32..=20 {
        let child = [("demo.counter.00", "c2", b.as_str(), true)];
        samples.push(sample("c2", f64::from(t), &[(&b, 10.5, u64::from(t))], &child));
    }
    let names = [("demo.clock", clock.as_str()), ("demo.counter.00", b.as_str())];
    let child = [("demo.counter.00", "c2", b.as_str(), true)];
    for (node, mine) in [
        ("c1", vec![]),
        ("c2", vec![(b.as_str(), 10.5, 21)]),
        ("c3", vec![(clock.as_str(), 0.0, 21)]),
    ] {
        let mut s = with_registry(sample(node, 21.0, &mine, &child), &names);
        s.quiet = true;
        samples.push(s);
    }
    History {
        seed: 1,
        started_us: T0,
        nodes: NODES.iter().map(|n| (*n).to_owned()).collect(),
        grace_ms: 5_000,
        quiet_from_us: Some(T0 + 20 * S),
        quiet_bound_ms: 60_000,
        samples,
        ..History::default()
    }
}

fn violated(h: &History) -> Vec<Guarantee> {
    let mut v: Vec<Guarantee> = check(h).violations.iter().map(|v| v.guarantee).collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn a_clean_history_passes_every_check() {
    let verdict = check(&clean());
    assert!(verdict.violations.is_empty(), "{:#?}", verdict.violations);
    for g in [
        Guarantee::StateKept,
        Guarantee::NoJump,
        Guarantee::ChildOnce,
        Guarantee::SingletonOnce,
        Guarantee::QuietOnce,
    ] {
        assert!(
            verdict.checked.get(&g).copied().unwrap_or(0) > 0,
            "{g:?} was not checked"
        );
    }
}

#[test]
fn a_state_reported_kept_but_restarted_from_zero_is_a_violation() {
    let mut h = clean();
    for s in h.samples.iter_mut().filter(|s| s.node == "c2" && !s.quiet) {
        let t = (s.sent_us - T0) / S;
        *s.counts.values_mut().next().unwrap() = t - 11;
    }
    assert_eq!(violated(&h), vec![Guarantee::StateKept]);
}

#[test]
fn a_count_that_runs_ahead_of_the_clock_is_a_violation() {
    let mut h = clean();
    let s = h
        .samples
        .iter_mut()
        .find(|s| s.node == "c2" && (s.sent_us - T0) / S == 15)
        .unwrap();
    *s.counts.values_mut().next().unwrap() = 40;
    assert!(violated(&h).contains(&Guarantee::NoJump), "{:?}", violated(&h));
}

#[test]
fn a_child_running_twice_on_the_kept_side_is_a_violation_unless_a_fault_excuses_it() {
    let mut h = clean();
    let dup = pid(9, "c3");
    let child = [("demo.counter.00", "c3", dup.as_str(), false)];
    for t in 3u32..=6 {
        h.samples.push(sample(
            "c3",
            f64::from(t) + 0.5,
            &[(&dup, 3.0, u64::from(t) - 3)],
            &child,
        ));
    }
    assert!(violated(&h).contains(&Guarantee::ChildOnce), "{:?}", violated(&h));
    h.faults.push(FaultRecord {
        kind: FaultKind::Pause,
        start_us: T0,
        end_us: T0 + 2 * S,
        text: "SIGSTOP c3".into(),
        targets: vec!["c3".into()],
        separated: vec![],
    });
    assert!(
        !violated(&h).contains(&Guarantee::ChildOnce),
        "c3 is within its grace: {:?}",
        violated(&h)
    );
}

#[test]
fn a_singleton_running_twice_is_a_violation_but_frozen_time_is_not() {
    let mut h = clean();
    let second = pid(3, "c1");
    for t in 4u32..=5 {
        let s = sample("c1", f64::from(t) + 0.5, &[(&second, 4.0, 0)], &[]);
        h.samples.push(with_registry(s, &[("demo.clock", &second)]));
    }
    assert_eq!(violated(&h), vec![Guarantee::SingletonOnce]);
    // c3 frozen over the whole overlap: its clock was not running.
    h.faults.push(FaultRecord {
        kind: FaultKind::Pause,
        start_us: T0 + 3 * S,
        end_us: T0 + 6 * S,
        text: "SIGSTOP c3".into(),
        targets: vec!["c3".into()],
        separated: vec![],
    });
    assert!(
        !violated(&h).contains(&Guarantee::SingletonOnce),
        "{:?}",
        violated(&h)
    );
}

#[test]
fn a_live_untouched_node_declared_down_is_a_violation_and_left_or_faulted_is_not() {
    let mut h = clean();
    let down = |node: &str, reason: &str, t: u64| NodeEvent {
        observer: "c1".into(),
        at_us: T0 + t * S,
        event: "node_down".into(),
        node: node.into(),
        reason: Some(reason.into()),
        creation: Some(T0),
    };
    h.events = vec![down("c3", "Left", 2), down("c2", "Failed", 8)];
    h.faults.push(FaultRecord {
        kind: FaultKind::Kill,
        start_us: T0 + 7 * S,
        end_us: T0 + 8 * S,
        text: "kill -9 c2".into(),
        targets: vec!["c2".into()],
        separated: vec![],
    });
    assert!(violated(&h).is_empty(), "{:?}", violated(&h));
    h.events.push(down("c3", "Crashed", 9));
    assert_eq!(violated(&h), vec![Guarantee::NoFalseDown]);
}

#[test]
fn a_down_of_a_life_whose_process_was_replaced_is_true_but_one_of_the_current_process_is_false() {
    let mut h = clean();
    let down = |creation: u64, t: u64| NodeEvent {
        observer: "c1".into(),
        at_us: T0 + t * S,
        event: "node_down".into(),
        node: "c2".into(),
        reason: Some("Crashed".into()),
        creation: Some(creation),
    };
    // c2's first process (creation T0) is killed at 3 s and a new one starts at 4 s; c1,
    // paused meanwhile, reports the killed life long after the fault's grace: true.
    h.processes = vec![
        ProcessRecord {
            name: "c2".into(),
            creation: T0,
        },
        ProcessRecord {
            name: "c2".into(),
            creation: T0 + 4 * S,
        },
    ];
    h.faults.push(FaultRecord {
        kind: FaultKind::Kill,
        start_us: T0 + 3 * S,
        end_us: T0 + 4 * S,
        text: "kill -9 c2".into(),
        targets: vec!["c2".into()],
        separated: vec![],
    });
    h.events = vec![down(T0 + 1, 20)];
    assert!(violated(&h).is_empty(), "{:?}", violated(&h));
    // A renewed life of the new process declared down is a false down.
    h.events.push(down(T0 + 4 * S + 1, 30));
    assert_eq!(violated(&h), vec![Guarantee::NoFalseDown]);
}

#[test]
fn a_duplicate_name_that_stays_is_a_violation() {
    let mut h = clean();
    h.duplicates.push(DuplicateRecord {
        name: "c2".into(),
        start_us: T0,
        ready: true,
        still_running: false,
    });
    assert!(violated(&h).is_empty());
    h.duplicates.push(DuplicateRecord {
        name: "c2".into(),
        start_us: T0,
        ready: true,
        still_running: true,
    });
    assert_eq!(violated(&h), vec![Guarantee::DuplicateRefused]);
}

#[test]
fn after_quiet_a_missing_child_an_orphan_disagreement_or_a_broken_mesh_is_a_violation() {
    let quiet = |h: &mut History, node: &str| -> usize {
        h.samples.iter().position(|s| s.quiet && s.node == node).unwrap()
    };

    let mut h = clean();
    let i = quiet(&mut h, "c2");
    h.samples[i].actors.clear();
    let v = violated(&h);
    assert!(
        v.contains(&Guarantee::QuietOnce) && v.contains(&Guarantee::QuietNames),
        "{v:?}"
    );

    let mut h = clean();
    let i = quiet(&mut h, "c1");
    h.samples[i].actors.push(ActorObs {
        pid: pid(99, "c1"),
        counter: true,
        started_at_us: T0,
    });
    assert_eq!(violated(&h), vec![Guarantee::QuietOnce]);

    let mut h = clean();
    let i = quiet(&mut h, "c1");
    h.samples[i].registry.remove("demo.clock");
    assert_eq!(violated(&h), vec![Guarantee::QuietAgree]);

    let mut h = clean();
    let i = quiet(&mut h, "c3");
    h.samples[i].members.retain(|m| m.name != "c1");
    h.samples[i].health_ok = false;
    assert_eq!(violated(&h), vec![Guarantee::QuietHealth]);
}
