//! `shoal cluster`: a local N-node cluster of `shoal node` processes, managed through a state
//! directory (default `.shoal/` in the working directory) so that any later command finds it.
//!
//! ```text
//! .shoal/cluster.json   nodes (name, pid, listen, http, creation), the binary; written as
//!                       each node is spawned
//! .shoal/cookie         the cluster's cookie (0600)
//! .shoal/logs/NAME.log  each node's log (stderr); NAME.events its JSON event lines (stdout);
//!                       a restart appends (a `--- TIME NAME: new process ---` line, a new
//!                       ready event); a fresh start moves the old files to NAME.log.1 etc.
//! .shoal/discovery/     same-host discovery directory, private to this cluster
//! .shoal/netns-hosts    with `--netns --discovery dns`: the records dnsmasq serves
//!                       (its log: logs/dnsmasq.log)
//! ```
//! Nodes run in their own process group, so they outlive the CLI; `stop` ends them by
//! recorded pid and checks that none is left.

mod cause;
mod chaos;
mod dashboard;
mod health;
mod logs;
mod mesh;
pub(crate) mod netns;
mod restart;
mod run_cmd;
mod settle;
pub(crate) mod start;
pub(crate) mod state;
mod status;
pub(crate) mod stop;

use std::path::PathBuf;

use clap::Subcommand;
use nix::sys::signal::Signal;

/// Arguments shared by every `shoal cluster` command.
#[derive(clap::Args, Debug)]
pub(crate) struct ClusterArgs {
    #[command(subcommand)]
    command: ClusterCommand,
    /// Where the cluster's state lives.
    #[arg(long, global = true, env = shoal_api::env::STATE_DIR, default_value = crate::hint::DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum ClusterCommand {
    /// Start N nodes on 127.0.0.1 (with `--netns`, each in its own network namespace) and
    /// wait until every node sees every other.
    Start(start::StartArgs),
    /// Show each node: pid, state, members seen, version, uptime. Exits 1 unless all are up
    /// and agree on the membership.
    Status,
    /// Start a cluster, run CMD with `SHOAL_COOKIE`, `SHOAL_SEEDS`, `SHOAL_NODES`,
    /// `SHOAL_HTTP_ADDRS` and `SHOAL_STATE_DIR` set, always stop, exit with CMD's status.
    /// SIGINT/SIGTERM go to CMD, stop the cluster, and exit 130/143.
    Run(run_cmd::RunArgs),
    /// Restart one node or all (from the recorded binary, so a rebuild is picked up);
    /// `--rolling` restarts one at a time. Waits for the full mesh after each restart, and
    /// for the supervisor to settle (no child moving) before each stop and at the end.
    Restart(restart::RestartArgs),
    /// Check the cluster: nodes up, full mesh, links, one build, memory. Exit 0 only if all pass.
    Health,
    /// Print the URL of the dashboard page of a node that answers (every node serves the
    /// whole cluster's page at its HTTP address).
    Dashboard {
        /// Also open it in a browser (`$BROWSER`, else `xdg-open` or `open`).
        #[arg(long)]
        open: bool,
    },
    /// Stop every node gracefully (SIGTERM, then SIGKILL after 5 s) and check none is left,
    /// unrecorded nodes of the state dir (a killed `start`) included.
    Stop,
    /// Kill whatever a crashed or interrupted run left (by recorded pid) and remove the state
    /// directory, logs included.
    Clean,
    /// Print node logs, merged with a name prefix unless a node is named.
    Logs(logs::LogsArgs),
    /// Fault injection: SIGKILL a node.
    Kill {
        /// The node, e.g. n2.
        node: String,
    },
    /// Fault injection: freeze a node (SIGSTOP); its peers declare it down within about 1 s.
    Pause {
        /// The node.
        node: String,
    },
    /// Thaw a paused node (SIGCONT); it rejoins as a new life.
    Resume {
        /// The node.
        node: String,
    },
    /// Fault injection: split the cluster, e.g. `partition n1,n2 / n3`. Each side drops all
    /// traffic with the other; both declare the other down within about 1 s. Nodes that do
    /// not answer (paused) are named and never apply it later; the others' part cuts them.
    Partition {
        /// Groups of nodes separated by '/'.
        #[arg(required = true, num_args = 1..)]
        groups: Vec<String>,
    },
    /// End a partition; nodes reconnect through discovery. Names the nodes that did not
    /// answer (they keep their partition; heal again once they answer).
    Heal,
    /// An interactive prompt for `members`, `ps`, `info`, `kill` and the cluster commands,
    /// with history. With NODE, `ps` shows that node's actors.
    Shell {
        /// Scope `ps` to this node.
        node: Option<String>,
    },
}

pub(crate) fn run(args: ClusterArgs) -> anyhow::Result<()> {
    match args.command {
        ClusterCommand::Start(start) => start::run(&args.state_dir, start, args.json),
        ClusterCommand::Status => status::run(&args.state_dir, args.json),
        ClusterCommand::Stop => stop::run(&args.state_dir, args.json),
        ClusterCommand::Run(run) => run_cmd::run(&args.state_dir, run),
        ClusterCommand::Restart(restart) => restart::run(&args.state_dir, restart, args.json),
        ClusterCommand::Health => health::run(&args.state_dir, args.json),
        ClusterCommand::Dashboard { open } => dashboard::run(&args.state_dir, open, args.json),
        ClusterCommand::Clean => stop::clean(&args.state_dir, args.json),
        ClusterCommand::Logs(logs) => logs::run(&args.state_dir, logs),
        ClusterCommand::Kill { node } => chaos::signal(&args.state_dir, &node, Signal::SIGKILL, args.json),
        ClusterCommand::Pause { node } => chaos::signal(&args.state_dir, &node, Signal::SIGSTOP, args.json),
        ClusterCommand::Resume { node } => chaos::signal(&args.state_dir, &node, Signal::SIGCONT, args.json),
        ClusterCommand::Partition { groups } => chaos::partition(&args.state_dir, &groups, args.json),
        ClusterCommand::Heal => chaos::heal(&args.state_dir, args.json),
        ClusterCommand::Shell { node } => crate::shell::run(&args.state_dir, node.as_deref()),
    }
}
