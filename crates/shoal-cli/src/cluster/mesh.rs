//! Waiting for a full mesh: every node process runs, answers as the recorded pid, and sees
//! every other node's *current* life as alive.
//!
//! The creation recorded in `cluster.json` is not what a node must be seen at: a node declared
//! down while alive (paused, partitioned) renews (creation + 1, same process), and the
//! recorded stamp is then stale. Each wait asks every node for its own life (`/api/node`)
//! and checks the others' views against that.

use std::path::Path;
use std::time::Duration;

use shoal_api::views::{MemberView, NodeView};
use shoal_api::wait_until;

use super::state::{ClusterState, NodeRecord, is_our_process};
use super::status;

/// How long the cluster may take to form.
pub(crate) const MESH_TIMEOUT: Duration = Duration::from_secs(20);

/// What stands between the cluster and a full mesh: `(node at fault, what)`, down nodes
/// first, then nodes that do not answer, then views that miss a peer (the peer is blamed).
/// Empty when the mesh is full.
type Gaps = Vec<(String, String)>;

/// Waits until the mesh is full; updates each record's `creation` to the life it runs now.
/// On timeout the error names the nodes at fault (a down node first) and ends with the log
/// tail of the first of them.
pub(crate) fn wait_mesh(dir: &Path, state: &mut ClusterState) -> anyhow::Result<()> {
    let mut last = Gaps::new();
    let formed = wait_until(MESH_TIMEOUT, || match check(dir, state) {
        Ok(lives) => Some(lives),
        Err(gaps) => {
            last = gaps;
            None
        }
    });
    let Some(lives) = formed else {
        let what: Vec<&str> = last.iter().take(6).map(|(_, line)| line.as_str()).collect();
        let tail = last
            .first()
            .map_or(String::new(), |(name, _)| log_tail(dir, name));
        return Err(anyhow::anyhow!(
            "no full mesh within {MESH_TIMEOUT:?}: {}{tail}",
            what.join("; ")
        ));
    };
    for (node, creation) in state.nodes.iter_mut().zip(lives) {
        node.creation = Some(creation);
    }
    Ok(())
}

/// One look at the whole cluster: each node's current creation, or what is missing.
fn check(dir: &Path, state: &ClusterState) -> Result<Vec<u64>, Gaps> {
    let mut down = Gaps::new();
    let mut silent = Gaps::new();
    let mut lives = Vec::new();
    for node in &state.nodes {
        match life(state, node) {
            Ok(creation) => lives.push(creation),
            Err(Some(line)) => down.push((node.name.clone(), line)),
            Err(None) => silent.push((node.name.clone(), silent_line(dir, node))),
        }
    }
    if !down.is_empty() || !silent.is_empty() {
        down.append(&mut silent);
        return Err(down);
    }
    let mut gaps = Gaps::new();
    for node in &state.nodes {
        let members = status::members(node).unwrap_or_default();
        for (peer, creation) in state.nodes.iter().zip(&lives) {
            if !sees(&members, &peer.name, *creation) {
                gaps.push((
                    peer.name.clone(),
                    format!(
                        "{} does not see {} alive at its current life (creation {creation})",
                        node.name, peer.name
                    ),
                ));
            }
        }
    }
    if gaps.is_empty() { Ok(lives) } else { Err(gaps) }
}

/// The creation `node` runs now, read from its own `/api/node`. `Err(Some(line))` if its
/// process is gone, `Err(None)` if it does not answer, or answers as another process.
fn life(state: &ClusterState, node: &NodeRecord) -> Result<u64, Option<String>> {
    if !is_our_process(node.pid, &state.bin) {
        return Err(Some(format!(
            "{} is down (pid {} is not running)",
            node.name, node.pid
        )));
    }
    let info: NodeView = node.http.and_then(|h| status::get(h, "/api/node")).ok_or(None)?;
    if info.pid != node.pid {
        return Err(None);
    }
    Ok(info.creation)
}

/// Why a running node does not answer: paused, or not (yet) serving as that process.
fn silent_line(dir: &Path, node: &NodeRecord) -> String {
    if crate::bench::procfs::is_stopped(node.pid) {
        return format!(
            "{} is paused (pid {} is stopped); resume it with {}",
            node.name,
            node.pid,
            crate::hint::shoal(dir, &format!("cluster resume {}", node.name))
        );
    }
    let http = node.http.map_or("-".to_owned(), |a| a.to_string());
    format!(
        "{} (pid {}) does not answer on {http} as that process",
        node.name, node.pid
    )
}

/// Whether a `/api/members` answer lists `name` alive at `creation`.
fn sees(members: &[MemberView], name: &str, creation: u64) -> bool {
    members
        .iter()
        .any(|m| m.name == name && m.is_alive() && m.creation == creation)
}

/// `; <name>'s log ends with: ...` (the last 10 lines), or nothing if there is no log.
pub(crate) fn log_tail(dir: &Path, name: &str) -> String {
    let Ok(log) = std::fs::read_to_string(dir.join("logs").join(format!("{name}.log"))) else {
        return String::new();
    };
    let lines: Vec<&str> = log.lines().collect();
    let tail = &lines[lines.len().saturating_sub(10)..];
    format!("; {name}'s log ends with:\n{}", tail.join("\n"))
}
