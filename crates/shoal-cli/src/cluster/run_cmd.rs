//! `shoal cluster run -- CMD`: start a cluster, run CMD against it, always stop, exit with
//! CMD's status.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use super::start::{self, StartArgs};
use super::state::ClusterState;

/// Arguments of `shoal cluster run`.
#[derive(clap::Args, Debug)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    start: StartArgs,
    /// Keep the cluster running when CMD fails, for debugging (stop it with `shoal cluster stop`).
    #[arg(long)]
    keep_on_failure: bool,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, required = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// Runs CMD and exits the process with its status (after stopping the cluster).
pub(crate) fn run(dir: &Path, args: RunArgs) -> anyhow::Result<()> {
    let state = start::start(dir, &args.start)?;
    let code = run_command(dir, &state, &args.command);
    let failed = !matches!(code, Ok(0));
    if failed && args.keep_on_failure {
        eprintln!(
            "command failed; cluster kept running in {} (stop it with `shoal cluster stop`)",
            dir.display()
        );
    } else {
        let (stopped, graceful) = super::stop::stop(dir)?;
        eprintln!("{}", super::stop::summary(dir, stopped, graceful));
    }
    let code = code?;
    std::process::exit(code);
}

/// Runs the command with the cluster's `SHOAL_*` variables; returns its exit code.
fn run_command(dir: &Path, state: &ClusterState, command: &[String]) -> anyhow::Result<i32> {
    let (program, args) = command.split_first().context("no command given after --")?;
    let join = |f: &dyn Fn(&super::state::NodeRecord) -> Option<String>| -> String {
        state.nodes.iter().filter_map(f).collect::<Vec<_>>().join(",")
    };
    let cookie = std::fs::read_to_string(dir.join("cookie")).context("cannot read the cluster cookie")?;
    let status = Command::new(program)
        .args(args)
        .env("SHOAL_COOKIE", cookie.trim())
        .env("SHOAL_SEEDS", join(&|n| n.listen.map(|a| a.to_string())))
        .env("SHOAL_NODES", join(&|n| Some(n.name.clone())))
        .env("SHOAL_HTTP_ADDRS", join(&|n| n.http.map(|a| a.to_string())))
        .env("SHOAL_STATE_DIR", dir)
        .env("SHOAL_DISCOVERY", "static")
        .status()
        .with_context(|| format!("cannot run {program:?}; check it is installed and on PATH"))?;
    // A command killed by a signal exits like a shell reports it: 128 + signal.
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)))
}
