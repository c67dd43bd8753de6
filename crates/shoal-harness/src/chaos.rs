//! A fault-injection harness over real processes, in the spirit of Jepsen: a cluster of
//! `shoal node --demo` processes (24 supervised counters ticking once a second and a
//! singleton clock, each counter's value readable through `GET /api/actors/{pid}/state`), a
//! fault [`Schedule`] drawn from a seed, a recorded [`History`] (every node sampled every
//! period, every event line, every fault with its window), and a [`check`] of the
//! guarantees the README states, by value ([`Guarantee`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use shoal_harness::chaos::{ChaosConfig, run};
//!
//! let config = ChaosConfig::new("target/release/shoal", 1, Duration::from_secs(60));
//! let report = run(&config, |line| println!("{line}")).unwrap();
//! assert!(report.verdict.violations.is_empty(), "replay: {}", config.replay_command());
//! ```

mod checker;
#[cfg(test)]
mod checker_test;
mod cluster;
mod history;
mod quiet;
mod runner;
mod sampler;
mod schedule;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use checker::{Guarantee, Verdict, Violation, check};
pub use history::{
    ActorObs, Answers, ChildObs, DuplicateRecord, FaultRecord, History, MemberObs, NodeEvent, Sample,
};
pub use runner::run;
pub use schedule::{Fault, FaultKind, Schedule, Step};

/// Settings of one chaos run.
#[derive(Clone, Debug)]
pub struct ChaosConfig {
    /// The `shoal` binary (or one that follows the node contract and has `--demo`).
    pub bin: PathBuf,
    /// Seed of the schedule.
    pub seed: u64,
    /// How long to inject faults (the quiet phase comes after).
    pub length: Duration,
    /// Nodes (5 by default).
    pub nodes: usize,
    /// Kinds to draw from (empty: all).
    pub kinds: Vec<FaultKind>,
    /// Where the history and the nodes' logs go.
    pub out_dir: PathBuf,
    /// Time between two samples of one node (150 ms by default).
    pub sample_period: Duration,
    /// How long after a fault its nodes stay excused (5 s by default).
    pub grace: Duration,
    /// How long the after-quiet checks may take to hold (60 s by default).
    pub quiet_bound: Duration,
}

impl ChaosConfig {
    /// Defaults: 5 nodes, every kind, 150 ms sampling, 5 s grace, 60 s quiet bound, output
    /// in `<temp>/shoal-chaos-<seed>-<pid>`.
    pub fn new(bin: impl Into<PathBuf>, seed: u64, length: Duration) -> Self {
        Self {
            bin: bin.into(),
            seed,
            length,
            nodes: 5,
            kinds: Vec::new(),
            out_dir: std::env::temp_dir().join(format!("shoal-chaos-{seed}-{}", std::process::id())),
            sample_period: Duration::from_millis(150),
            grace: Duration::from_secs(5),
            quiet_bound: Duration::from_secs(60),
        }
    }

    /// The command that runs the same schedule again.
    pub fn replay_command(&self) -> String {
        let mut cmd = format!(
            "shoal chaos run --seed {} --minutes {} --nodes {}",
            self.seed,
            self.length.as_secs_f64() / 60.0,
            self.nodes
        );
        if !self.kinds.is_empty() {
            let kinds: Vec<&str> = self.kinds.iter().map(|k| k.name()).collect();
            cmd.push_str(&format!(" --kinds {}", kinds.join(",")));
        }
        cmd
    }
}

/// What a run did and found.
#[derive(Clone, Debug)]
pub struct ChaosReport {
    /// The schedule drawn (steps past the run's length were not injected).
    pub schedule: Schedule,
    /// Steps injected, by kind.
    pub injected: BTreeMap<FaultKind, usize>,
    /// Where the history was written (JSON).
    pub history_path: PathBuf,
    /// Samples recorded.
    pub samples: usize,
    /// Event lines the nodes printed, by kind.
    pub events: BTreeMap<String, u64>,
    /// The checker's answer.
    pub verdict: Verdict,
}
