//! The after-quiet checks: once the last fault is repaired, within `quiet_bound_ms` some
//! round of samples (the latest of every node) must show every child and singleton running
//! exactly once, every name held by one live actor, the same names, groups and child table
//! on every node, and a healthy full mesh. They pass as soon as one round passes them all
//! (changes in flight do not fail them); if none does, the last round's faults are reported.

use std::collections::{BTreeMap, BTreeSet};

use super::checker::{Guarantee, SINGLETONS, Verdict, names, round};
use super::history::{History, Sample, pid_node};

/// Adds the after-quiet results of `history` to `verdict`.
pub(crate) fn check_quiet(history: &History, verdict: &mut Verdict) {
    let Some(quiet_from) = history.quiet_from_us else {
        return;
    };
    let deadline = quiet_from + history.quiet_bound_ms * 1000;
    let expected: BTreeSet<String> = history
        .samples
        .iter()
        .flat_map(|s| s.children.iter().map(|c| c.id.clone()))
        .chain(SINGLETONS.iter().map(|s| (*s).to_owned()))
        .collect();
    let mut quiet: Vec<&Sample> = history
        .samples
        .iter()
        .filter(|s| s.quiet && s.recv_us <= deadline)
        .collect();
    quiet.sort_by_key(|s| s.recv_us);
    let mut latest: BTreeMap<&str, &Sample> = BTreeMap::new();
    let mut last_faults = None;
    for s in quiet {
        latest.insert(&s.node, s);
        let Some(round) = round(&latest, &history.nodes) else {
            continue;
        };
        let faults = faults_of(&round, &expected);
        if faults.is_empty() {
            for g in [
                Guarantee::QuietOnce,
                Guarantee::QuietNames,
                Guarantee::QuietAgree,
                Guarantee::QuietHealth,
            ] {
                verdict.count(g, 1);
            }
            return;
        }
        last_faults = Some((s.recv_us, faults));
    }
    match last_faults {
        Some((at, faults)) => {
            for (g, text) in faults {
                verdict.count(g, 1);
                let text = format!("not within {} s of quiet: {text}", history.quiet_bound_ms / 1000);
                verdict.add_violation(g, at, text);
            }
        }
        None => {
            let text = format!(
                "no node answered in the {} s after quiet",
                history.quiet_bound_ms / 1000
            );
            verdict.count(Guarantee::QuietHealth, 1);
            verdict.add_violation(Guarantee::QuietHealth, deadline, text);
        }
    }
}

/// Every after-quiet check that fails on one round of samples.
pub(crate) fn faults_of(round: &[&Sample], expected: &BTreeSet<String>) -> Vec<(Guarantee, String)> {
    let mut out = Vec::new();
    once(round, expected, &mut out);
    held(round, &mut out);
    agree(round, &mut out);
    health(round, &mut out);
    out
}

fn once(round: &[&Sample], expected: &BTreeSet<String>, out: &mut Vec<(Guarantee, String)>) {
    let mut label: BTreeMap<&str, &str> = BTreeMap::new();
    for s in round {
        for c in &s.children {
            if let Some(p) = &c.pid {
                label.insert(p, &c.id);
            }
        }
        for (name, pid) in &s.registry {
            label.entry(pid).or_insert(name);
        }
    }
    let mut running: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut orphans = BTreeSet::new();
    for s in round {
        for a in s.actors.iter().filter(|a| a.counter) {
            match label.get(a.pid.as_str()) {
                Some(l) => running.entry(l).or_default().push(&a.pid),
                None => {
                    orphans.insert(a.pid.clone());
                }
            }
        }
    }
    for id in expected {
        match running.get(id.as_str()).map_or(0, Vec::len) {
            1 => {}
            n => out.push((Guarantee::QuietOnce, format!("{id} runs {n} times"))),
        }
    }
    if !orphans.is_empty() {
        out.push((
            Guarantee::QuietOnce,
            format!("counters that no table or name knows run: {}", names(&orphans)),
        ));
    }
}

fn held(round: &[&Sample], out: &mut Vec<(Guarantee, String)>) {
    let alive: BTreeSet<&str> = round
        .iter()
        .flat_map(|s| s.actors.iter().map(|a| a.pid.as_str()))
        .collect();
    let mut dead = BTreeSet::new();
    for s in round {
        for (name, pid) in &s.registry {
            if !alive.contains(pid.as_str()) {
                dead.insert(format!(
                    "{name} -> {pid} (in {}'s view; {} has no such actor)",
                    s.node,
                    pid_node(pid)
                ));
            }
        }
    }
    if !dead.is_empty() {
        out.push((
            Guarantee::QuietNames,
            format!("names held by no live actor: {}", names(&dead)),
        ));
    }
}

fn agree(round: &[&Sample], out: &mut Vec<(Guarantee, String)>) {
    let first = round[0];
    let table = |s: &Sample| -> BTreeMap<String, (String, Option<String>)> {
        s.children
            .iter()
            .map(|c| (c.id.clone(), (c.owner.clone(), c.pid.clone())))
            .collect()
    };
    for s in &round[1..] {
        if s.registry != first.registry {
            out.push((
                Guarantee::QuietAgree,
                format!("{} and {} see different names", first.node, s.node),
            ));
        }
        if s.groups != first.groups {
            out.push((
                Guarantee::QuietAgree,
                format!("{} and {} see different groups", first.node, s.node),
            ));
        }
        if table(s) != table(first) {
            out.push((
                Guarantee::QuietAgree,
                format!("{} and {} hold different child tables", first.node, s.node),
            ));
        }
    }
}

fn health(round: &[&Sample], out: &mut Vec<(Guarantee, String)>) {
    let all: BTreeSet<&str> = round.iter().map(|s| s.node.as_str()).collect();
    for s in round {
        let seen: BTreeSet<&str> = s
            .members
            .iter()
            .filter(|m| m.state == "alive" && m.linked)
            .map(|m| m.name.as_str())
            .collect();
        if !s.health_ok || s.isolated || seen != all {
            let missing: BTreeSet<String> = all.difference(&seen).map(|n| (*n).to_owned()).collect();
            let text = format!(
                "{}: health {}, isolated {}, not alive and linked: [{}]",
                s.node,
                if s.health_ok { "ok" } else { "failing" },
                s.isolated,
                names(&missing)
            );
            out.push((Guarantee::QuietHealth, text));
        }
    }
}
