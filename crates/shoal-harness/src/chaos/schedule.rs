//! `Schedule`: the faults of one run, drawn from a seed. The same seed, node count, length
//! and kinds give the same schedule (rand's seeded `StdRng`); the cluster's timing around it
//! is real, so a replay repeats the faults, not every interleaving.

use std::fmt;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// The kinds of fault a schedule draws from; `--kinds` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// `kill -9` of one node, then the same name started again as a new process.
    Kill,
    /// SIGSTOP for 1-30 s, then SIGCONT.
    Pause,
    /// A partition (a minority cut off, or one pair cut from each other only), then heal.
    Partition,
    /// SIGTERM (the node hands its children over and leaves), then started again.
    Restart,
    /// Every node in turn: SIGTERM, start again, wait for the full mesh.
    Rolling,
    /// Two of the faults above at once, on different nodes, a majority untouched.
    Concurrent,
    /// A second process started with a name the cluster already has, for a few seconds.
    DuplicateName,
    /// `migrate` a child, and restart its source or target node while the handoff runs.
    HandoffRestart,
}

impl FaultKind {
    /// Every kind, in the order of the summary table.
    pub const ALL: [FaultKind; 8] = [
        Self::Kill,
        Self::Pause,
        Self::Partition,
        Self::Restart,
        Self::Rolling,
        Self::Concurrent,
        Self::DuplicateName,
        Self::HandoffRestart,
    ];

    /// The name used on the command line and in the history.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kill => "kill",
            Self::Pause => "pause",
            Self::Partition => "partition",
            Self::Restart => "restart",
            Self::Rolling => "rolling",
            Self::Concurrent => "concurrent",
            Self::DuplicateName => "duplicate_name",
            Self::HandoffRestart => "handoff_restart",
        }
    }

    /// Parses a comma-separated list of kind names.
    pub fn parse_list(text: &str) -> Result<Vec<FaultKind>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                Self::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
                    let all: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
                    format!("unknown fault kind `{s}`; use some of {}", all.join(","))
                })
            })
            .collect()
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One fault, on node indices (0-based) of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// SIGKILL `node`, leave it down `down_ms`, start it again.
    Kill {
        /// Node index.
        node: usize,
        /// How long it stays down, in ms.
        down_ms: u64,
    },
    /// SIGSTOP `node` for `for_ms`, then SIGCONT.
    Pause {
        /// Node index.
        node: usize,
        /// How long it stays frozen, in ms.
        for_ms: u64,
    },
    /// Each node of `cut` drops traffic with each node of `from` (and back), for `for_ms`.
    Partition {
        /// One side.
        cut: Vec<usize>,
        /// The other side.
        from: Vec<usize>,
        /// How long, in ms.
        for_ms: u64,
    },
    /// SIGTERM `node`, wait for it to exit, start it again.
    Restart {
        /// Node index.
        node: usize,
    },
    /// [`Fault::Restart`] of every node in turn.
    Rolling,
    /// Several faults at once.
    Concurrent {
        /// The faults, on distinct nodes.
        faults: Vec<Fault>,
    },
    /// Start a second process named like `node`, seeded with another node, for `for_ms`.
    DuplicateName {
        /// Index of the node whose name is taken again.
        node: usize,
        /// How long the second process is left running, in ms.
        for_ms: u64,
    },
    /// Move child `demo.counter.<child>` to `to`, and `after_ms` later restart (`kill`: SIGKILL
    /// then start, else SIGTERM then start) either its target (`target: true`) or its source.
    HandoffRestart {
        /// Child number.
        child: usize,
        /// Target node index (another is taken if it owns the child).
        to: usize,
        /// Delay between the migrate request and the restart, in ms.
        after_ms: u64,
        /// Restart the target (else the source).
        target: bool,
        /// SIGKILL (else SIGTERM).
        kill: bool,
    },
}

impl Fault {
    /// The kind this fault counts as in the summary.
    pub fn kind(&self) -> FaultKind {
        match self {
            Self::Kill { .. } => FaultKind::Kill,
            Self::Pause { .. } => FaultKind::Pause,
            Self::Partition { .. } => FaultKind::Partition,
            Self::Restart { .. } => FaultKind::Restart,
            Self::Rolling => FaultKind::Rolling,
            Self::Concurrent { .. } => FaultKind::Concurrent,
            Self::DuplicateName { .. } => FaultKind::DuplicateName,
            Self::HandoffRestart { .. } => FaultKind::HandoffRestart,
        }
    }

    /// How long the fault lasts before its repair starts (restarts: 0).
    pub fn hold(&self) -> Duration {
        let ms = match self {
            Self::Kill { down_ms: ms, .. }
            | Self::Pause { for_ms: ms, .. }
            | Self::Partition { for_ms: ms, .. }
            | Self::DuplicateName { for_ms: ms, .. } => *ms,
            Self::Concurrent { faults } => faults
                .iter()
                .map(|f| f.hold().as_millis() as u64)
                .max()
                .unwrap_or(0),
            Self::Restart { .. } | Self::Rolling | Self::HandoffRestart { .. } => 0,
        };
        Duration::from_millis(ms)
    }
}

/// One step of a schedule: a fault, then a quiet gap before the next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The fault.
    pub fault: Fault,
    /// Time left alone after the fault is repaired and the cluster formed again.
    pub gap_ms: u64,
}

/// The faults of one run, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The seed it was drawn from.
    pub seed: u64,
    /// The steps.
    pub steps: Vec<Step>,
}

/// Demo counters a handoff fault picks from (`demo.counter.00` up).
const CHILDREN: usize = 24;

impl Schedule {
    /// Draws steps until their planned time (fault holds and gaps) reaches `length`; a run
    /// takes longer per step (repairs, waits for the mesh) and stops at `length`, so the
    /// steps never run out first. `kinds` empty means all kinds.
    /// A majority of the `nodes` is never touched at once (kills, pauses and the cut-off side
    /// stay a minority). `nodes` below 3 gives only restarts and duplicate names.
    pub fn generate(seed: u64, nodes: usize, length: Duration, kinds: &[FaultKind]) -> Schedule {
        let mut rng = StdRng::seed_from_u64(seed);
        let kinds: Vec<FaultKind> = if kinds.is_empty() {
            FaultKind::ALL.to_vec()
        } else {
            kinds.to_vec()
        };
        let mut steps = Vec::new();
        let mut planned = Duration::ZERO;
        while planned < length {
            let kind = kinds[rng.random_range(0..kinds.len())];
            let fault = draw(&mut rng, kind, nodes);
            let gap_ms = rng.random_range(2_000..=6_000);
            planned += fault.hold() + Duration::from_millis(gap_ms);
            steps.push(Step { fault, gap_ms });
        }
        Schedule { seed, steps }
    }
}

/// The largest number of nodes a fault may take away while a majority stays.
fn minority(nodes: usize) -> usize {
    nodes.saturating_sub(1) / 2
}

/// Picks `count` distinct node indices.
fn pick(rng: &mut StdRng, nodes: usize, count: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..nodes).collect();
    let mut out = Vec::new();
    for _ in 0..count.min(nodes) {
        out.push(all.swap_remove(rng.random_range(0..all.len())));
    }
    out.sort_unstable();
    out
}

fn draw(rng: &mut StdRng, kind: FaultKind, nodes: usize) -> Fault {
    if minority(nodes) == 0 && !matches!(kind, FaultKind::Restart | FaultKind::DuplicateName) {
        return Fault::Restart {
            node: rng.random_range(0..nodes),
        };
    }
    match kind {
        FaultKind::Concurrent => {
            let both = pick(rng, nodes, 2.min(minority(nodes)));
            let faults = both
                .iter()
                .map(|&node| match rng.random_range(0..3) {
                    0 => Fault::Kill {
                        node,
                        down_ms: rng.random_range(500..=5_000),
                    },
                    1 => Fault::Pause {
                        node,
                        for_ms: rng.random_range(1_000..=30_000),
                    },
                    _ => Fault::Restart { node },
                })
                .collect();
            Fault::Concurrent { faults }
        }
        other => draw_single(rng, other, nodes),
    }
}

fn draw_single(rng: &mut StdRng, kind: FaultKind, nodes: usize) -> Fault {
    let node = rng.random_range(0..nodes);
    match kind {
        FaultKind::Kill => Fault::Kill {
            node,
            down_ms: rng.random_range(500..=5_000),
        },
        FaultKind::Pause => Fault::Pause {
            node,
            for_ms: rng.random_range(1_000..=30_000),
        },
        FaultKind::Partition => {
            let for_ms = rng.random_range(2_000..=15_000);
            if nodes >= 3 && rng.random_bool(0.25) {
                // Non-transitive: one pair cut from each other only.
                let pair = pick(rng, nodes, 2);
                return Fault::Partition {
                    cut: vec![pair[0]],
                    from: vec![pair[1]],
                    for_ms,
                };
            }
            let size = rng.random_range(1..=minority(nodes));
            let cut = pick(rng, nodes, size);
            let from = (0..nodes).filter(|i| !cut.contains(i)).collect();
            Fault::Partition { cut, from, for_ms }
        }
        FaultKind::Restart => Fault::Restart { node },
        FaultKind::Rolling => Fault::Rolling,
        FaultKind::DuplicateName => Fault::DuplicateName {
            node,
            for_ms: rng.random_range(2_000..=6_000),
        },
        FaultKind::HandoffRestart => {
            let to = (node + rng.random_range(1..nodes)) % nodes;
            Fault::HandoffRestart {
                child: rng.random_range(0..CHILDREN),
                to,
                after_ms: rng.random_range(0..=300),
                target: rng.random_bool(0.5),
                kill: rng.random_bool(0.3),
            }
        }
        FaultKind::Concurrent => unreachable!("drawn by `draw`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_schedule_and_another_seed_another() {
        let a = Schedule::generate(7, 5, Duration::from_secs(600), &[]);
        assert_eq!(a, Schedule::generate(7, 5, Duration::from_secs(600), &[]));
        assert_ne!(a, Schedule::generate(8, 5, Duration::from_secs(600), &[]));
        let kinds: std::collections::BTreeSet<FaultKind> = a.steps.iter().map(|s| s.fault.kind()).collect();
        assert_eq!(
            kinds.len(),
            FaultKind::ALL.len(),
            "10 minutes draw every kind: {kinds:?}"
        );
    }

    #[test]
    fn faults_never_take_a_majority_away() {
        for seed in 0..200 {
            for step in Schedule::generate(seed, 5, Duration::from_secs(300), &[]).steps {
                let touched = match &step.fault {
                    Fault::Concurrent { faults } => faults.len(),
                    Fault::Partition { cut, from, .. } => cut.len().min(from.len()),
                    _ => 1,
                };
                assert!(touched <= 2, "seed {seed}: {step:?}");
            }
        }
    }

    #[test]
    fn kinds_restrict_the_draw() {
        let s = Schedule::generate(
            3,
            5,
            Duration::from_secs(120),
            &[FaultKind::Kill, FaultKind::Partition],
        );
        assert!(
            s.steps
                .iter()
                .all(|st| matches!(st.fault.kind(), FaultKind::Kill | FaultKind::Partition))
        );
        assert!(FaultKind::parse_list("kill,nope").unwrap_err().contains("nope"));
    }
}
