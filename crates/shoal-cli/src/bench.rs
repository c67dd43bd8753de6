//! `shoal bench SCENARIO --json`: real node processes on 127.0.0.1, one JSON object of figures.
//!
//! Every node runs this same binary (`shoal node`) with a fresh random cookie and a private
//! `local` discovery directory, so a benchmark never joins anything else on the machine.
//! Times come from the nodes' own event lines (`at_us`, wall clock), so reading stdout adds no
//! latency to the figures.

mod cluster;
mod dashboard;
mod detection;
mod failover;
mod formation;
mod formation_netns;
mod in_process;
mod messaging;
mod metrics;
mod page;
pub(crate) mod procfs;
mod registry;
mod soak;
mod tls;

use std::path::PathBuf;

use clap::ValueEnum;

/// Which scenario to run.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Scenario {
    /// Start 3 and 10 nodes at once; time until every node sees every other. Also idle RSS/CPU.
    Formation,
    /// `kill -9` and `kill -STOP` of a node; time until every other node reports it down.
    Detection,
    /// 10 nodes left idle while every core is kept busy; counts false suspicions and downs.
    Soak,
    /// Actor messages between two nodes: call round trip, one-way throughput, local sends.
    Messaging,
    /// Global registry on 5 nodes: visibility, registration and lookup rates, cleanup.
    Registry,
    /// Distributed supervisor on 5 nodes: failover of one child and of 1,000, graceful drain.
    Failover,
    /// The dashboard on 10 nodes with 10,000 actors each: answers for a first render, CPU
    /// watched and not, a kill shown on the live feed, the history's memory.
    Dashboard,
    /// One `/metrics` scrape of a node running 10,000 actors (3 nodes in this process).
    Metrics,
    /// The messaging figures over mutual TLS next to plain TCP, trials alternating.
    Tls,
}

/// Arguments of `shoal bench`.
#[derive(clap::Args, Debug)]
pub(crate) struct BenchArgs {
    /// The scenario.
    scenario: Scenario,
    /// Print only the JSON object (progress goes to stderr either way).
    #[arg(long)]
    json: bool,
    /// Repetitions; figures are medians (p50) and maxima over them.
    #[arg(long, default_value_t = 5)]
    trials: usize,
    /// How long the soak scenario runs, in seconds.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// The node binary (default: this `shoal`).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Formation only (Linux, root): start the cluster with `shoal cluster start --netns`,
    /// each node in its own network namespace.
    #[arg(long)]
    netns: bool,
    /// With `--netns`: how nodes find each other (see `shoal cluster start --discovery`).
    #[arg(long, value_enum, requires = "netns", default_value = "seeds")]
    discovery: crate::cluster::netns::NetDiscovery,
    /// With `--netns`: the cluster's size.
    #[arg(long, requires = "netns", default_value_t = 10)]
    nodes: usize,
    /// With `--netns`: the nodes' `--discovery-interval-ms` (default: the node's, 5000).
    #[arg(long, requires = "netns")]
    discovery_interval_ms: Option<u64>,
}

pub(crate) fn run(args: BenchArgs) -> anyhow::Result<()> {
    let bin = match args.bin {
        Some(bin) => bin,
        None => std::env::current_exe()?,
    };
    let trials = args.trials.max(1);
    if args.netns && !matches!(args.scenario, Scenario::Formation) {
        anyhow::bail!("--netns applies to `shoal bench formation` only");
    }
    let figures = match args.scenario {
        Scenario::Formation if args.netns => formation_netns::run(
            &bin,
            trials,
            args.nodes,
            args.discovery,
            args.discovery_interval_ms,
        )?,
        Scenario::Formation => formation::run(&bin, trials)?,
        Scenario::Detection => detection::run(&bin, trials)?,
        Scenario::Soak => soak::run(&bin, args.seconds)?,
        Scenario::Messaging => messaging::run(&bin, trials)?,
        Scenario::Registry => registry::run()?,
        Scenario::Failover => failover::run(trials)?,
        Scenario::Dashboard => dashboard::run(&bin, trials)?,
        Scenario::Metrics => metrics::run()?,
        Scenario::Tls => tls::run(&bin, trials)?,
    };
    if args.json {
        outln!("{figures}");
    } else {
        outln!("{}", serde_json::to_string_pretty(&figures)?);
    }
    Ok(())
}

/// The median of `values` (upper median for an even count); 0 for none.
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// The largest of `values`; 0 for none.
pub(crate) fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(0.0, f64::max)
}

/// Rounds to 0.01.
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
