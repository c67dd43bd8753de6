//! `shoal cluster stop`: SIGTERM, wait, SIGKILL what is left, verify by pid.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use shoal_api::wait_until;

use super::state::{ClusterState, node_processes};

/// How long nodes get to leave gracefully before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// `shoal cluster stop`. With no cluster recorded in `dir` and no node process of it
/// running, says that there is nothing to stop and succeeds: the cluster is stopped.
pub(crate) fn run(dir: &Path, json: bool) -> anyhow::Result<()> {
    if ClusterState::load(dir)?.is_none() && node_processes(dir).is_empty() {
        super::netns::sweep();
        if json {
            outln!("{}", json!({"stopped": 0, "graceful": true, "cluster": false}));
        } else {
            outln!("no cluster is running in {}; nothing to stop", dir.display());
        }
        return Ok(());
    }
    let (stopped, graceful) = stop(dir)?;
    if json {
        outln!("{}", json!({"stopped": stopped, "graceful": graceful}));
    } else {
        outln!("{}", summary(dir, stopped, graceful));
    }
    Ok(())
}

/// Stops the cluster in `dir`: every recorded node, and every node process of `dir` that is
/// not recorded (a killed `start` leaves some). Returns how many were running and whether
/// all left gracefully; fails if one still runs after SIGKILL, or if there is nothing to stop
/// and no record.
pub(crate) fn stop(dir: &Path) -> anyhow::Result<(usize, bool)> {
    let state = ClusterState::load(dir)?;
    let running = || -> Vec<u32> {
        let mut pids: Vec<u32> = state
            .iter()
            .flat_map(|s| s.live_nodes())
            .map(|n| n.pid)
            .chain(node_processes(dir))
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    };
    let live = running();
    if state.is_none() && live.is_empty() {
        anyhow::bail!(
            "no cluster in {}; start one with {}",
            dir.display(),
            crate::hint::shoal(dir, "cluster start")
        );
    }
    signal_all(&live, Signal::SIGTERM);
    let graceful = wait_until(GRACE, || running().is_empty().then_some(())).is_some();
    if !graceful {
        let left = running();
        signal_all(&left, Signal::SIGCONT);
        signal_all(&left, Signal::SIGKILL);
        let _ = wait_until(Duration::from_secs(2), || running().is_empty().then_some(()));
    }
    let left = running();
    if !left.is_empty() {
        anyhow::bail!("processes {left:?} are still running after SIGKILL; check them with ps");
    }
    remove_network(dir, state.as_ref())?;
    let _ = std::fs::remove_file(ClusterState::path(dir));
    let _ = std::fs::remove_dir_all(dir.join("discovery"));
    for node in state.iter().flat_map(|s| &s.nodes) {
        let _ = std::fs::remove_file(dir.join(format!("{}.ready", node.name)));
    }
    Ok((live.len(), graceful))
}

/// With `--netns`: removes the cluster's namespaces, bridge and dnsmasq (its processes are
/// stopped by now), failing with what is left; then sweeps stale networks of other clusters.
fn remove_network(dir: &Path, state: Option<&ClusterState>) -> anyhow::Result<()> {
    if let Some(net) = state.and_then(|s| s.netns.as_ref()) {
        super::netns::teardown(&net.id)?;
        let _ = std::fs::remove_file(dir.join("netns-hosts"));
    }
    super::netns::sweep();
    Ok(())
}

/// One line saying what `stop` did.
pub(crate) fn summary(dir: &Path, stopped: usize, graceful: bool) -> String {
    if stopped == 0 {
        return format!(
            "no node of the cluster in {} was running; nothing to stop; logs kept in {}",
            dir.display(),
            dir.join("logs").display()
        );
    }
    let how = if graceful { "" } else { " (some with SIGKILL)" };
    format!(
        "stopped {stopped} node(s){how}; logs kept in {}",
        dir.join("logs").display()
    )
}

/// SIGKILLs every recorded node that still runs, and waits briefly until they are gone.
pub(crate) fn kill_all(state: &ClusterState) {
    let live: Vec<u32> = state.live_nodes().iter().map(|n| n.pid).collect();
    signal_all(&live, Signal::SIGCONT);
    signal_all(&live, Signal::SIGKILL);
    let _ = wait_until(Duration::from_secs(2), || {
        state.live_nodes().is_empty().then_some(())
    });
}

fn signal_all(pids: &[u32], signal: Signal) {
    for pid in pids {
        if let Ok(pid) = i32::try_from(*pid) {
            let _ = kill(Pid::from_raw(pid), signal);
        }
    }
}

/// `shoal cluster clean`: SIGKILL every recorded node still running (a crashed or interrupted
/// `start` included) and remove the state directory, logs too.
pub(crate) fn clean(dir: &Path, json: bool) -> anyhow::Result<()> {
    let mut killed = 0;
    let state = ClusterState::load(dir)?;
    if let Some(state) = &state {
        killed += state.live_nodes().len();
        kill_all(state);
    }
    // Nodes spawned by a `start` that was killed before it recorded them.
    let strays = node_processes(dir);
    killed += strays.len();
    signal_all(&strays, Signal::SIGCONT);
    signal_all(&strays, Signal::SIGKILL);
    let left = wait_until(Duration::from_secs(2), || {
        let left = node_processes(dir);
        left.is_empty().then_some(())
    });
    if left.is_none() {
        anyhow::bail!(
            "processes {:?} are still running after SIGKILL; check them with ps",
            node_processes(dir)
        );
    }
    remove_network(dir, state.as_ref())?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", dir.display()))?;
    }
    if json {
        outln!("{}", json!({"killed": killed, "removed": dir}));
    } else {
        outln!("killed {killed} node(s); removed {}", dir.display());
    }
    Ok(())
}
