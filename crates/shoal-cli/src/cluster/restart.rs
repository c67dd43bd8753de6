//! `shoal cluster restart [NODE] [--rolling]`: restart nodes from the recorded binary, so a
//! rebuilt binary is picked up. Each restarted node is a new life (higher creation).

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use shoal_api::wait_until;

use super::mesh::wait_mesh;
use super::settle::wait_settled;
use super::start::{read_ready, spawn};
use super::state::{ClusterState, NodeRecord, is_our_process};
use super::status;
use crate::hint;

/// Arguments of `shoal cluster restart`.
#[derive(clap::Args, Debug)]
pub(crate) struct RestartArgs {
    /// Only this node (default: all).
    node: Option<String>,
    /// One node at a time, so the cluster stays up: before each node stops, and at the end,
    /// waits until the supervisor has settled (no child moving, every child running on a
    /// live node); after each, waits for the full mesh.
    #[arg(long)]
    rolling: bool,
}

pub(crate) fn run(given: &Path, args: RestartArgs, json: bool) -> anyhow::Result<()> {
    let mut state = ClusterState::load_required(given)?;
    let dir = std::fs::canonicalize(given)?;
    let targets: Vec<usize> = match &args.node {
        Some(name) => vec![state.nodes.iter().position(|n| n.name == *name).ok_or_else(|| {
            let names: Vec<&str> = state.nodes.iter().map(|n| n.name.as_str()).collect();
            anyhow::anyhow!(
                "no node {name:?} in {}; its nodes are {}",
                given.display(),
                names.join(", ")
            )
        })?],
        None => (0..state.nodes.len()).collect(),
    };
    refuse_if_others_down(given, &state, &targets)?;
    if args.rolling || targets.len() == 1 {
        for i in targets {
            if is_our_process(state.nodes[i].pid, &state.bin) {
                wait_settled(&state)?;
            }
            restart_one(&dir, &mut state, i)?;
            wait_mesh(&dir, &mut state)?;
            state.save(&dir)?;
        }
    } else {
        for &i in &targets {
            stop_one(&state, i);
        }
        for &i in &targets {
            respawn(&dir, &mut state, i)?;
        }
        wait_mesh(&dir, &mut state)?;
        state.save(&dir)?;
    }
    wait_settled(&state)?;
    status::print(given, &state, json)
}

/// A node that is not restarted must be running: the cluster could not form without it.
fn refuse_if_others_down(dir: &Path, state: &ClusterState, targets: &[usize]) -> anyhow::Result<()> {
    let down: Vec<&NodeRecord> = state
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, n)| !targets.contains(i) && !is_our_process(n.pid, &state.bin))
        .map(|(_, n)| n)
        .collect();
    let first = match down.as_slice() {
        [] => return Ok(()),
        [one] => format!(
            "restart it first ({})",
            hint::shoal(dir, &format!("cluster restart {}", one.name))
        ),
        _ => "restart every node".to_owned(),
    };
    let named: Vec<String> = down
        .iter()
        .map(|n| format!("{} (pid {})", n.name, n.pid))
        .collect();
    anyhow::bail!(
        "down (not running): {}; the cluster cannot form without it, so nothing was restarted: {first} or every node ({})",
        named.join(", "),
        hint::shoal(dir, "cluster restart")
    )
}

fn restart_one(dir: &Path, state: &mut ClusterState, i: usize) -> anyhow::Result<()> {
    stop_one(state, i);
    respawn(dir, state, i)
}

/// SIGTERM (graceful leave), then SIGKILL after 5 s.
fn stop_one(state: &ClusterState, i: usize) {
    let node = &state.nodes[i];
    let Ok(pid) = i32::try_from(node.pid) else { return };
    if !is_our_process(node.pid, &state.bin) {
        return;
    }
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    let gone = || (!is_our_process(node.pid, &state.bin)).then_some(());
    if wait_until(Duration::from_secs(5), gone).is_none() {
        eprintln!(
            "{} (pid {}) did not leave within 5 s; killing it (children it still ran restart elsewhere without their state)",
            node.name, node.pid
        );
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = wait_until(Duration::from_secs(2), gone);
    }
}

fn respawn(dir: &Path, state: &mut ClusterState, i: usize) -> anyhow::Result<()> {
    let cookie = dir.join("cookie");
    let pid = spawn(dir, state, &cookie, i + 1)?;
    let node = &mut state.nodes[i];
    node.pid = pid;
    node.creation = None;
    state.save(dir)?;
    read_ready(dir, &mut state.nodes[i])?;
    state.save(dir)
}
