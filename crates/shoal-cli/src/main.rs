//! `shoal`: run a node, run and inspect a local cluster (and any cluster through its HTTP
//! API), inject faults and check the guarantees, benchmark.

#[macro_use]
mod out;
mod bench;
mod certs;
mod chaos;
mod cluster;
mod demo;
mod hint;
mod inspect;
mod node_cmd;
mod settings;
mod shell;
mod version;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Shoal: clustering for Rust services, BEAM-style.
#[derive(Parser, Debug)]
#[command(name = "shoal", version = version::LONG, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run one node in the foreground. Prints a JSON ready line, then one JSON line per
    /// membership event, on stdout; logs go to stderr. SIGINT or SIGTERM leaves gracefully.
    Node(Box<settings::NodeArgs>),
    /// Start, inspect and stop a local test cluster of `shoal node` processes.
    Cluster(cluster::ClusterArgs),
    /// Run a benchmark scenario against real local node processes and print JSON figures.
    Bench(bench::BenchArgs),
    /// Every node's view of the membership (asks all nodes in parallel).
    Members(inspect::InspectArgs),
    /// List the actors of every node (or one, `--node`), optionally filtered by `--name`.
    Ps(inspect::PsArgs),
    /// Show one actor: `shoal info <id>@<node>` or `shoal info NAME` (a registered name).
    Info(inspect::PidArgs),
    /// Show an actor's own view of its state: `shoal state <id>@<node>` or `shoal state NAME`.
    State(inspect::PidArgs),
    /// Kill one actor (needs the admin token): `shoal kill <id>@<node>`.
    Kill(inspect::PidArgs),
    /// Send a message, as JSON, to an actor that accepts JSON (needs the admin token):
    /// `shoal send demo.counter.00 '{"Add": 5}'`.
    Send(inspect::MessageArgs),
    /// Call an actor that accepts JSON and print its reply (needs the admin token):
    /// `shoal call demo.counter.00 '"Get"'`.
    Call(inspect::MessageArgs),
    /// Every node's view of the global registry, and whether they agree.
    Registry(inspect::InspectArgs),
    /// The distributed supervisor's children: owner, pid, restarts, how each last started,
    /// whether its state was kept, and whether the replicas agree.
    Supervisor(inspect::InspectArgs),
    /// Why a node did (not) join: each discovery strategy's last lookup and each candidate
    /// address's last outcome (joined, unreachable, refused: wrong cookie, ...).
    Discovery(inspect::InspectArgs),
    /// Fault injection over real processes with a checker of the guarantees: `chaos run`.
    Chaos(chaos::ChaosArgs),
    /// Certificates for TLS on links: `certs gen --ca-dir DIR --nodes n1,n2,...`.
    Certs(certs::CertsArgs),
}

fn main() -> ExitCode {
    match dispatch(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command (also from `shoal cluster shell`).
pub(crate) fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Node(args) => node_cmd::run(*args),
        Command::Bench(args) => bench::run(args),
        Command::Certs(args) => certs::run(args),
        Command::Cluster(args) => cluster::run(args),
        Command::Members(args) => inspect::members(args),
        Command::Ps(args) => inspect::ps(args),
        Command::Info(args) => inspect::info(args),
        Command::State(args) => inspect::state(args),
        Command::Kill(args) => inspect::kill(args),
        Command::Send(args) => inspect::send(args),
        Command::Call(args) => inspect::call(args),
        Command::Registry(args) => inspect::registry(args),
        Command::Supervisor(args) => inspect::supervisor(args),
        Command::Discovery(args) => inspect::discovery(args),
        Command::Chaos(args) => chaos::run(args),
    }
}
