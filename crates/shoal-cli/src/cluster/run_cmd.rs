//! `shoal cluster run -- CMD`: start a cluster, run CMD against it, always stop, exit with
//! CMD's status. SIGINT and SIGTERM are forwarded to CMD and also stop the cluster.

use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use shoal_api::env;
use tokio::signal::unix::{SignalKind, signal};

use super::start::{self, StartArgs};
use super::state::ClusterState;

/// Arguments of `shoal cluster run`.
#[derive(clap::Args, Debug)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    start: StartArgs,
    /// Keep the cluster running when CMD fails, for debugging (stop it with `shoal cluster stop`).
    /// SIGINT and SIGTERM stop it anyway.
    #[arg(long)]
    keep_on_failure: bool,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, required = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// How long CMD gets to end after a forwarded signal before it is killed.
const COMMAND_GRACE: Duration = Duration::from_secs(5);

/// How CMD ended.
enum Ended {
    /// It exited with this code (128 + signal if a signal killed it).
    Exited(i32),
    /// This process got SIGINT or SIGTERM, forwarded it to CMD and waited for CMD to end.
    Interrupted(Signal),
}

/// Runs CMD and exits the process with its status, after stopping the cluster (unless CMD
/// failed and `--keep-on-failure` is set). SIGINT and SIGTERM are caught from before the
/// cluster starts (one that arrives during the start takes effect once it is up): the
/// signal goes to CMD, the cluster stops, and the process exits with 128 + the signal (130
/// or 143), as a shell reports it.
pub(crate) fn run(dir: &Path, args: RunArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // From here on these two signals no longer end this process at once.
    let mut interrupts = runtime.block_on(async { Interrupts::new() })?;
    let state = start::start(dir, &args.start)?;
    let ended = runtime.block_on(run_command(dir, &state, &args.command, &mut interrupts));
    let code = match &ended {
        Ok(Ended::Exited(code)) => *code,
        Ok(Ended::Interrupted(signal)) => 128 + *signal as i32,
        Err(_) => 1,
    };
    let keep = code != 0 && args.keep_on_failure && !matches!(ended, Ok(Ended::Interrupted(_)));
    if keep {
        eprintln!(
            "command failed; cluster kept running in {} (stop it with {})",
            dir.display(),
            crate::hint::shoal(dir, "cluster stop")
        );
    } else {
        let (stopped, graceful) = super::stop::stop(dir)?;
        eprintln!("{}", super::stop::summary(dir, stopped, graceful));
    }
    if let Ok(Ended::Interrupted(signal)) = ended {
        eprintln!("interrupted by {}", signal.as_str());
    }
    ended?;
    std::process::exit(code);
}

/// SIGINT and SIGTERM, caught.
struct Interrupts {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// Installs the handlers (inside a runtime).
    fn new() -> anyhow::Result<Self> {
        let catch = |kind| signal(kind).context("cannot install a signal handler");
        Ok(Self {
            int: catch(SignalKind::interrupt())?,
            term: catch(SignalKind::terminate())?,
        })
    }

    /// The next signal caught.
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.int.recv() => Signal::SIGINT,
            _ = self.term.recv() => Signal::SIGTERM,
        }
    }
}

/// Runs the command with the cluster's `SHOAL_*` variables until it exits, or until a signal
/// comes: then forwards it, and kills the command if it has not ended after
/// [`COMMAND_GRACE`].
async fn run_command(
    dir: &Path,
    state: &ClusterState,
    command: &[String],
    interrupts: &mut Interrupts,
) -> anyhow::Result<Ended> {
    let child = spawn_command(dir, state, command)?;
    let pid = Pid::from_raw(i32::try_from(child.id()).context("pid out of range")?);
    let mut waiting = tokio::task::spawn_blocking(move || wait(child));
    let signal = tokio::select! {
        status = &mut waiting => return Ok(Ended::Exited(code_of(status??))),
        signal = interrupts.next() => signal,
    };
    if !waiting.is_finished() {
        let _ = kill(pid, signal);
    }
    if tokio::time::timeout(COMMAND_GRACE, &mut waiting).await.is_err() {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waiting.await;
    }
    Ok(Ended::Interrupted(signal))
}

fn wait(mut child: Child) -> anyhow::Result<ExitStatus> {
    child.wait().context("cannot wait for the command")
}

/// Starts the command with the cluster's `SHOAL_*` variables.
fn spawn_command(dir: &Path, state: &ClusterState, command: &[String]) -> anyhow::Result<Child> {
    let (program, args) = command.split_first().context("no command given after --")?;
    let join = |f: &dyn Fn(&super::state::NodeRecord) -> Option<String>| -> String {
        state.nodes.iter().filter_map(f).collect::<Vec<_>>().join(",")
    };
    let cookie = std::fs::read_to_string(dir.join("cookie")).context("cannot read the cluster cookie")?;
    let mut command = Command::new(program);
    // A cluster started with --tls: the command's own node gets the `client` certificate.
    let tls = dir.join(super::start::TLS_DIR);
    if tls.join("ca.pem").exists() {
        let client = super::start::TLS_CLIENT;
        command
            .env(env::TLS, "required")
            .env(env::TLS_CERT, tls.join(format!("{client}.pem")))
            .env(env::TLS_KEY, tls.join(format!("{client}.key")))
            .env(env::TLS_CA, tls.join("ca.pem"));
    }
    command
        .args(args)
        .env(env::COOKIE, cookie.trim())
        .env(env::SEEDS, join(&|n| n.listen.map(|a| a.to_string())))
        .env(env::NODES, join(&|n| Some(n.name.clone())))
        .env(env::HTTP_ADDRS, join(&|n| n.http.map(|a| a.to_string())))
        .env(env::STATE_DIR, dir)
        .env(env::DISCOVERY, "static")
        .spawn()
        .with_context(|| format!("cannot run {program:?}; check it is installed and on PATH"))
}

/// The exit code, or 128 + the signal that killed it, as a shell reports it.
fn code_of(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0))
}
