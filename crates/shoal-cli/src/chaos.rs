//! `shoal chaos run`: the fault-injection harness (`shoal_harness::chaos`) from the command
//! line. Prints each fault as it happens, then a summary table (faults by kind, guarantees
//! checked, violations); writes the history; on a violation prints the replay command and
//! exits non-zero.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use shoal_harness::chaos::{
    ChaosConfig, ChaosReport, FaultKind, Guarantee, History, Verdict, check, run as run_chaos,
};

/// `shoal chaos ...`
#[derive(clap::Args, Debug)]
pub(crate) struct ChaosArgs {
    #[command(subcommand)]
    command: ChaosCommand,
}

#[derive(clap::Subcommand, Debug)]
enum ChaosCommand {
    /// Run a cluster of `shoal node --demo` processes under a seeded fault schedule and check
    /// the README's guarantees by value.
    Run(RunArgs),
    /// Check a recorded history again (e.g. after changing the checker): prints every
    /// violation; exits non-zero if there is one.
    Check(CheckArgs),
}

/// `shoal chaos check`
#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// The `history.json` a run wrote.
    history: PathBuf,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
}

/// `shoal chaos run`
#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Seed of the fault schedule (same seed, same faults).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How long to inject faults, in minutes (fractions allowed); a quiet phase follows.
    #[arg(long, default_value_t = 1.0)]
    minutes: f64,
    /// Nodes in the cluster.
    #[arg(long, default_value_t = 5)]
    nodes: usize,
    /// Fault kinds to draw from, comma-separated (default: all): kill, pause, partition,
    /// restart, rolling, concurrent, duplicate_name, handoff_restart.
    #[arg(long, value_name = "KIND,...")]
    kinds: Option<String>,
    /// Where to write history.json and the nodes' logs [default: a temp directory].
    #[arg(long)]
    out: Option<PathBuf>,
    /// The node binary [default: this `shoal`].
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `shoal chaos ...`.
pub(crate) fn run(args: ChaosArgs) -> anyhow::Result<()> {
    let args = match args.command {
        ChaosCommand::Run(args) => args,
        ChaosCommand::Check(args) => return check_history(&args),
    };
    if !(args.minutes > 0.0 && args.minutes.is_finite()) {
        bail!(
            "--minutes {} is not a positive number of minutes; try --minutes 1",
            args.minutes
        );
    }
    if args.nodes == 0 {
        bail!("--nodes 0: a cluster needs at least one node; try --nodes 5");
    }
    let bin = match args.bin {
        Some(bin) => bin,
        None => std::env::current_exe().context("cannot find this shoal binary; pass --bin")?,
    };
    let mut config = ChaosConfig::new(bin, args.seed, Duration::from_secs_f64(args.minutes * 60.0));
    config.nodes = args.nodes;
    if let Some(kinds) = &args.kinds {
        config.kinds = FaultKind::parse_list(kinds).map_err(anyhow::Error::msg)?;
    }
    if let Some(out) = args.out {
        config.out_dir = out;
    }
    let json = args.json;
    let report = run_chaos(&config, |line| {
        if json {
            eprintln!("{line}");
        } else {
            outln!("{line}");
        }
    })
    .context("the chaos run could not run")?;
    if json {
        outln!("{}", summary_json(&report, &config));
    } else {
        print_summary(&report, &config);
    }
    if !report.verdict.violations.is_empty() {
        bail!(
            "{} violation(s); replay with: {}",
            report.verdict.violations.len(),
            config.replay_command()
        );
    }
    Ok(())
}

fn summary_json(report: &ChaosReport, config: &ChaosConfig) -> serde_json::Value {
    let injected: serde_json::Map<String, serde_json::Value> = report
        .injected
        .iter()
        .map(|(k, n)| (k.name().to_owned(), (*n).into()))
        .collect();
    serde_json::json!({
        "seed": config.seed,
        "injected": injected,
        "checked": report.verdict.checked,
        "violations": report.verdict.violations,
        "samples": report.samples,
        "events": report.events,
        "history": report.history_path,
        "replay": config.replay_command(),
    })
}

fn print_summary(report: &ChaosReport, config: &ChaosConfig) {
    outln!();
    outln!("{:<18} {:>8}", "fault", "injected");
    for kind in FaultKind::ALL {
        outln!(
            "{:<18} {:>8}",
            kind.name(),
            report.injected.get(&kind).copied().unwrap_or(0)
        );
    }
    print_verdict(&report.verdict, 40);
    let events: Vec<String> = report.events.iter().map(|(k, n)| format!("{n} {k}")).collect();
    outln!(
        "{} samples; event lines: {}; history: {}",
        report.samples,
        events.join(", "),
        report.history_path.display()
    );
    if !report.verdict.violations.is_empty() {
        outln!("replay: {}", config.replay_command());
    }
}

/// The guarantees table, then the first `shown` violations.
fn print_verdict(verdict: &Verdict, shown: usize) {
    outln!();
    outln!("{:<18} {:>8} {:>10}", "guarantee", "checked", "violations");
    for g in Guarantee::ALL {
        let name = serde_json::to_value(g)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let checked = verdict.checked.get(&g).copied().unwrap_or(0);
        outln!("{:<18} {:>8} {:>10}", name, checked, verdict.of(g).count());
    }
    outln!();
    for v in verdict.violations.iter().take(shown) {
        outln!("VIOLATION {:?} at {} µs: {}", v.guarantee, v.at_us, v.text);
    }
    if verdict.violations.len() > shown {
        outln!(
            "... and {} more (shoal chaos check HISTORY --json lists all)",
            verdict.violations.len() - shown
        );
    }
}

fn check_history(args: &CheckArgs) -> anyhow::Result<()> {
    let raw = std::fs::read(&args.history).with_context(|| {
        format!(
            "cannot read {}; pass the history.json a run wrote",
            args.history.display()
        )
    })?;
    let history: History = serde_json::from_slice(&raw)
        .with_context(|| format!("{} is not a chaos history", args.history.display()))?;
    let verdict = check(&history);
    if args.json {
        outln!("{}", serde_json::to_string(&verdict)?);
    } else {
        print_verdict(&verdict, usize::MAX);
    }
    if !verdict.violations.is_empty() {
        bail!(
            "{} violation(s) in {}",
            verdict.violations.len(),
            args.history.display()
        );
    }
    Ok(())
}
