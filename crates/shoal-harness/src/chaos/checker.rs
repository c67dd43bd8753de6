//! The checker: reads a [`History`] and says which guarantees held, by value.
//!
//! Instances are pids labelled with a child id (or singleton name) through any node's
//! supervisor table or registry. An instance lives from its `started_at_us` (the node's own
//! stamp) to the send time of the last sample that listed it: it was surely alive over that
//! whole span. Overlaps are measured on those spans, so an overlap is never invented; one
//! shorter than a node's sampling period (plus a request's latency) can be missed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::history::{History, NodeEvent, Sample, pid_node};

/// A guarantee the checker verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guarantee {
    /// A child started with `state_kept: true` after a handoff counts on from at least the
    /// highest count its previous instance was seen with.
    StateKept,
    /// No count grows faster than the wall clock allows (no merged or duplicated state).
    NoJump,
    /// A child runs at most once on the kept side (nodes under no fault, past the grace).
    ChildOnce,
    /// A singleton runs at most once at any moment, on any node (frozen time excluded).
    SingletonOnce,
    /// No node is declared down (other than `Left`) unless a fault touched it or cut it off
    /// from the node that declared it, within the grace.
    NoFalseDown,
    /// A second process with a taken name does not stay in the cluster.
    DuplicateRefused,
    /// After quiet: every child and singleton runs exactly once, no orphan counters.
    QuietOnce,
    /// After quiet: every registered name resolves to one live holder.
    QuietNames,
    /// After quiet: every node has the same names, groups and child table.
    QuietAgree,
    /// After quiet: `/health` ok, every node sees every node alive and linked, none isolated.
    QuietHealth,
}

impl Guarantee {
    /// Every guarantee, in report order.
    pub const ALL: [Guarantee; 10] = [
        Self::StateKept,
        Self::NoJump,
        Self::ChildOnce,
        Self::SingletonOnce,
        Self::NoFalseDown,
        Self::DuplicateRefused,
        Self::QuietOnce,
        Self::QuietNames,
        Self::QuietAgree,
        Self::QuietHealth,
    ];
}

/// One broken guarantee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Which.
    pub guarantee: Guarantee,
    /// When (wall-clock µs).
    pub at_us: u64,
    /// What was seen.
    pub text: String,
}

/// The checker's answer.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Verdict {
    /// How many observations each guarantee was checked on.
    pub checked: BTreeMap<Guarantee, u64>,
    /// Every violation found.
    pub violations: Vec<Violation>,
}

impl Verdict {
    /// Violations of one guarantee.
    pub fn of(&self, g: Guarantee) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(move |v| v.guarantee == g)
    }

    pub(crate) fn add_violation(&mut self, guarantee: Guarantee, at_us: u64, text: String) {
        self.add(guarantee, at_us, text);
    }

    fn add(&mut self, guarantee: Guarantee, at_us: u64, text: String) {
        self.violations.push(Violation {
            guarantee,
            at_us,
            text,
        });
    }

    pub(crate) fn count(&mut self, g: Guarantee, n: u64) {
        *self.checked.entry(g).or_default() += n;
    }
}

/// The counters' tick: a count may grow by one per this many µs (the demo's 1 s).
pub(crate) const TICK_US: u64 = 1_000_000;
/// Ticks a count may run ahead of the wall clock (timer jitter, a burst after a pause).
const JUMP_SLACK: f64 = 2.0;
/// Singletons the demo runs.
pub(crate) const SINGLETONS: [&str; 1] = ["demo.clock"];

/// Checks every guarantee on `history`.
pub fn check(history: &History) -> Verdict {
    let mut verdict = Verdict::default();
    let instances = Instances::of(history);
    check_state_kept(history, &instances, &mut verdict);
    check_jumps(&instances, &mut verdict);
    check_overlaps(history, &instances, &mut verdict);
    check_false_downs(history, &mut verdict);
    for d in &history.duplicates {
        verdict.count(Guarantee::DuplicateRefused, 1);
        if d.ready && d.still_running {
            let text = format!(
                "a second process named {} joined and was still running at the fault's end",
                d.name
            );
            verdict.add(Guarantee::DuplicateRefused, d.start_us, text);
        }
    }
    super::quiet::check_quiet(history, &mut verdict);
    verdict.violations.sort_by_key(|v| v.at_us);
    verdict
}

/// One running instance of a child or singleton.
#[derive(Debug, Default)]
pub(crate) struct Instance {
    pub(crate) label: String,
    pub(crate) pid: String,
    pub(crate) start_us: u64,
    pub(crate) last_seen_us: u64,
    /// (sent, recv, count) of every state read.
    pub(crate) counts: Vec<(u64, u64, u64)>,
    /// Some sample of its own node showed its record with `state_kept` after a handoff.
    pub(crate) kept: Option<String>,
}

pub(crate) struct Instances(pub(crate) BTreeMap<String, Instance>);

impl Instances {
    fn of(history: &History) -> Self {
        let mut label: HashMap<&str, &str> = HashMap::new();
        for s in &history.samples {
            for c in &s.children {
                if let Some(pid) = &c.pid {
                    label.insert(pid, &c.id);
                }
            }
            for (name, pid) in &s.registry {
                label.entry(pid).or_insert(name);
            }
        }
        let mut all: BTreeMap<String, Instance> = BTreeMap::new();
        for s in &history.samples {
            for a in s.actors.iter().filter(|a| a.counter) {
                let Some(l) = label.get(a.pid.as_str()) else {
                    continue;
                };
                let i = all.entry(a.pid.clone()).or_insert_with(|| Instance {
                    label: (*l).to_owned(),
                    pid: a.pid.clone(),
                    start_us: a.started_at_us,
                    ..Instance::default()
                });
                i.last_seen_us = i.last_seen_us.max(s.sent_us);
                if let Some(n) = s.counts.get(&a.pid) {
                    i.counts.push((s.sent_us, s.recv_us, *n));
                }
            }
            for c in s
                .children
                .iter()
                .filter(|c| c.state_kept && c.last_start.contains("HandedOff"))
            {
                if let Some(i) = c
                    .pid
                    .as_ref()
                    .filter(|p| pid_node(p) == s.node)
                    .and_then(|p| all.get_mut(p))
                {
                    i.kept = Some(c.last_start.clone());
                }
            }
        }
        Self(all)
    }

    fn by_label(&self) -> BTreeMap<&str, Vec<&Instance>> {
        let mut out: BTreeMap<&str, Vec<&Instance>> = BTreeMap::new();
        for i in self.0.values() {
            out.entry(&i.label).or_default().push(i);
        }
        for list in out.values_mut() {
            list.sort_by_key(|i| i.start_us);
        }
        out
    }
}

fn check_state_kept(history: &History, instances: &Instances, verdict: &mut Verdict) {
    let _ = history;
    for (label, list) in instances.by_label() {
        for (k, q) in list.iter().enumerate() {
            let Some(how) = &q.kept else { continue };
            verdict.count(Guarantee::StateKept, 1);
            // The latest earlier instance seen counting before `q` started.
            let before = list[..k].iter().rev().find_map(|p| {
                p.counts
                    .iter()
                    .filter(|(_, recv, _)| *recv <= q.start_us)
                    .map(|c| c.2)
                    .max()
            });
            let first = q.counts.iter().map(|c| c.2).min();
            if let (Some(before), Some(first)) = (before, first)
                && first < before
            {
                let text = format!(
                    "{label} restarted as {} at count {first} with last_start {how} and state_kept: true, \
                     though its previous instance had counted {before}",
                    q.pid
                );
                verdict.add(Guarantee::StateKept, q.start_us, text);
            }
        }
    }
}

fn check_jumps(instances: &Instances, verdict: &mut Verdict) {
    for (label, list) in instances.by_label() {
        // Each instance also counted at least 0 when it started: a read of an instance whose
        // node was stopped before any read reached it (a pause at the run's start) is bounded
        // by its own start, not only by a later instance of the same child elsewhere. This
        // only ever loosens the bound (a maximum over more candidates), never tightens it.
        let mut obs: Vec<(u64, u64, u64, &str)> = list
            .iter()
            .flat_map(|i| {
                let start = (i.start_us, i.start_us, 0, i.pid.as_str());
                i.counts
                    .iter()
                    .map(|c| (c.0, c.1, c.2, i.pid.as_str()))
                    .chain(std::iter::once(start))
            })
            .collect();
        obs.sort_by_key(|o| o.1);
        // prefix[j]: max over obs[..=j] of count - sent/tick.
        let mut prefix = Vec::with_capacity(obs.len());
        let mut best = f64::NEG_INFINITY;
        for o in &obs {
            best = best.max(o.2 as f64 - o.0 as f64 / TICK_US as f64);
            prefix.push(best);
        }
        verdict.count(Guarantee::NoJump, obs.len() as u64);
        for o in &obs {
            // Observations surely earlier: answered before this one was asked.
            let earlier = obs.partition_point(|e| e.1 <= o.0);
            if earlier == 0 {
                continue;
            }
            let bound = prefix[earlier - 1] + o.1 as f64 / TICK_US as f64 + JUMP_SLACK;
            if o.2 as f64 > bound {
                let text = format!(
                    "{label} on {} counted {}, more than the wall clock allows since earlier reads (at most {})",
                    o.3,
                    o.2,
                    bound.floor()
                );
                verdict.add(Guarantee::NoJump, o.1, text);
            }
        }
    }
}

fn check_overlaps(history: &History, instances: &Instances, verdict: &mut Verdict) {
    for (label, list) in instances.by_label() {
        let singleton = SINGLETONS.contains(&label);
        let g = if singleton {
            Guarantee::SingletonOnce
        } else {
            Guarantee::ChildOnce
        };
        verdict.count(g, list.len() as u64);
        for (k, p) in list.iter().enumerate() {
            for q in &list[k + 1..] {
                let from = p.start_us.max(q.start_us).max(history.started_us);
                let to = p.last_seen_us.min(q.last_seen_us);
                if from >= to {
                    continue;
                }
                let mut excused = Vec::new();
                for node in [pid_node(&p.pid), pid_node(&q.pid)] {
                    excused.extend(history.excused_windows(node, singleton));
                }
                let left = uncovered(from, to, &mut excused);
                if left > 0 {
                    let text = format!(
                        "{label} ran twice for at least {} ms: {} and {} (both seen alive)",
                        left / 1000,
                        p.pid,
                        q.pid
                    );
                    verdict.add(g, from, text);
                }
            }
        }
    }
}

/// The length of `[from, to)` not covered by `windows`.
fn uncovered(from: u64, to: u64, windows: &mut [(u64, u64)]) -> u64 {
    windows.sort_unstable();
    let (mut at, mut left) = (from, 0);
    for &(a, b) in windows.iter() {
        if b <= at {
            continue;
        }
        if a >= to {
            break;
        }
        left += a.saturating_sub(at);
        at = at.max(b);
    }
    left + to.saturating_sub(at)
}

/// False downs of one node closer than this to each other are one violation (one episode:
/// every observer declaring it, a renewal storm).
const EPISODE_US: u64 = 2_000_000;

fn check_false_downs(history: &History, verdict: &mut Verdict) {
    let grace = history.grace_ms * 1000;
    // Per node: (first, last, count, observers and reasons) of the current episode.
    let mut episodes: BTreeMap<&str, (u64, u64, u64, BTreeSet<String>)> = BTreeMap::new();
    // `actors_down` follows a `Renewed` down whose process took no newer life: a process down.
    let is_down = |e: &&NodeEvent| e.event == "node_down" || e.event == "actors_down";
    let mut downs: Vec<_> = history.events.iter().filter(is_down).collect();
    downs.sort_by_key(|e| e.at_us);
    for e in downs {
        verdict.count(Guarantee::NoFalseDown, 1);
        // A goodbye, or a renewal seen from outside (the same process took a newer life;
        // it never stopped), declares no process down.
        if matches!(e.reason.as_deref(), Some("Left" | "Renewed")) {
            continue;
        }
        let excused = history.faults.iter().any(|f| {
            let during = f.start_us <= e.at_us && e.at_us <= f.end_us + grace;
            let apart = f
                .separated
                .iter()
                .any(|(a, b)| (a == &e.node && b == &e.observer) || (a == &e.observer && b == &e.node));
            during && (f.targets.contains(&e.node) || apart)
        });
        if excused || history.life_ended_by_fault(e) {
            continue;
        }
        let by = format!("{} ({})", e.observer, e.reason.as_deref().unwrap_or(&e.event));
        match episodes.get_mut(e.node.as_str()) {
            Some(ep) if e.at_us <= ep.1 + EPISODE_US => {
                ep.1 = e.at_us;
                ep.2 += 1;
                ep.3.insert(by);
            }
            _ => {
                if let Some(ep) = episodes.insert(&e.node, (e.at_us, e.at_us, 1, BTreeSet::from([by]))) {
                    false_down(verdict, &e.node, ep);
                }
            }
        }
    }
    for (node, ep) in episodes {
        false_down(verdict, node, ep);
    }
}

fn false_down(
    verdict: &mut Verdict,
    node: &str,
    (first, last, count, by): (u64, u64, u64, BTreeSet<String>),
) {
    let text = format!(
        "{node} declared down {count} time(s) over {} ms by {} while no fault touched it or cut it off from them",
        (last - first) / 1000,
        names(&by)
    );
    verdict.add(Guarantee::NoFalseDown, first, text);
}

impl History {
    /// Whether `e` is about a life of a process that a newer process under the same name had
    /// replaced by then (killed or restarted: that process is gone, so the down is true, even
    /// when it is reported long after the fault's grace, by a node that was paused meanwhile).
    fn life_ended_by_fault(&self, e: &NodeEvent) -> bool {
        let Some(life) = e.creation else {
            return false;
        };
        self.processes
            .iter()
            .any(|p| p.name == e.node && life < p.creation && p.creation <= e.at_us)
    }

    /// Windows in which `node`'s instances do not count: while paused (frozen) only, for
    /// singletons; while any fault targets it, plus the grace, for children.
    fn excused_windows(&self, node: &str, frozen_only: bool) -> Vec<(u64, u64)> {
        self.faults
            .iter()
            .filter(|f| f.targets.iter().any(|t| t == node))
            .filter(|f| !frozen_only || f.kind == super::FaultKind::Pause)
            .map(|f| {
                let end = if frozen_only {
                    f.end_us
                } else {
                    f.end_us + self.grace_ms * 1000
                };
                (f.start_us, end)
            })
            .collect()
    }
}

/// The latest sample of every node among `samples` (all nodes must be present).
pub(crate) fn round<'a>(latest: &BTreeMap<&'a str, &'a Sample>, nodes: &[String]) -> Option<Vec<&'a Sample>> {
    nodes.iter().map(|n| latest.get(n.as_str()).copied()).collect()
}

/// Names in `set` joined for a message.
pub(crate) fn names(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}
