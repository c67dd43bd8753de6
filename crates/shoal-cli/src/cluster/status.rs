//! `shoal cluster status`: each node's process and its own view of the cluster.

use std::path::Path;

use std::net::SocketAddr;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use shoal_api::client;
use shoal_api::views::{MemberView, NodeView};

use super::state::{ClusterState, NodeRecord, is_our_process};

pub(crate) fn run(dir: &Path, json: bool) -> anyhow::Result<()> {
    let state = ClusterState::load_required(dir)?;
    print(dir, &state, json)
}

/// Prints the status table (or JSON); fails unless every node is up and sees every other,
/// naming the nodes that are not up and the command that brings them back. `dir` is the
/// state directory as the user gave it (for the suggested commands).
pub(crate) fn print(dir: &Path, state: &ClusterState, json: bool) -> anyhow::Result<()> {
    let rows: Vec<StatusRow> = state.nodes.iter().map(|n| row(state, n)).collect();
    if json {
        // Through a `Value`: keys sorted, as `status --json` has always printed them.
        outln!("{}", json!(rows));
    } else {
        outln!(
            "{:<6} {:>8} {:<8} {:>7} {:<21} {:<21} {:<22} {:>9}",
            "NODE",
            "PID",
            "STATE",
            "MEMBERS",
            "LISTEN",
            "HTTP",
            "VERSION",
            "UPTIME"
        );
        for r in &rows {
            outln!(
                "{:<6} {:>8} {:<8} {:>7} {:<21} {:<21} {:<22} {:>9}",
                r.name,
                r.pid,
                r.state.as_str(),
                text(r.members),
                text(r.listen),
                text(r.http),
                text(r.version.as_deref()),
                r.uptime_ms.map_or("-".into(), |ms| format!("{}s", ms / 1000)),
            );
        }
    }
    let faults = super::cause::faults(&rows);
    if !faults.is_empty() {
        anyhow::bail!("{}", super::cause::line(dir, &faults));
    }
    let size = state.nodes.len();
    let partial: Vec<String> = rows
        .iter()
        .filter(|r| r.members != Some(size))
        .map(|r| format!("{} sees {}", r.name, text(r.members)))
        .collect();
    if !partial.is_empty() {
        anyhow::bail!(
            "every node is up, but not every one sees all {size} ({}); {} shows which links are missing",
            partial.join(", "),
            crate::hint::shoal(dir, "cluster health")
        );
    }
    Ok(())
}

/// One node's line of `shoal cluster status` (and of `health --json`'s `nodes`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct StatusRow {
    /// The node's name.
    pub(crate) name: String,
    /// Its recorded pid.
    pub(crate) pid: u32,
    /// Whether it is up.
    pub(crate) state: NodeState,
    /// Its recorded link address.
    pub(crate) listen: Option<SocketAddr>,
    /// Its recorded HTTP address.
    pub(crate) http: Option<SocketAddr>,
    /// How many members (itself included) it lists alive, if it answers.
    pub(crate) members: Option<usize>,
    /// Its build, if it answers.
    pub(crate) version: Option<String>,
    /// Its uptime, if it answers.
    pub(crate) uptime_ms: Option<u64>,
}

/// Where a node's process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum NodeState {
    /// Its process runs and its HTTP API answers.
    Up,
    /// Its recorded process no longer runs.
    Down,
    /// Its process is stopped (SIGSTOP).
    Paused,
    /// Its process runs but its HTTP API does not answer (yet).
    Starting,
}

impl NodeState {
    /// `up`, `down`, `paused` or `starting`, as `status` prints it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::Paused => "paused",
            Self::Starting => "starting",
        }
    }
}

pub(crate) fn row(state: &ClusterState, node: &NodeRecord) -> StatusRow {
    let running = is_our_process(node.pid, &state.bin);
    let info: Option<NodeView> = node.http.and_then(|h| get(h, "/api/node"));
    let status = match (running, &info) {
        (false, _) => NodeState::Down,
        (true, Some(_)) => NodeState::Up,
        (true, None) if crate::bench::procfs::is_stopped(node.pid) => NodeState::Paused,
        (true, None) => NodeState::Starting,
    };
    StatusRow {
        name: node.name.clone(),
        pid: node.pid,
        state: status,
        listen: node.listen,
        http: node.http,
        members: alive_members(node),
        version: info.as_ref().map(|i| i.version.clone()),
        uptime_ms: info.as_ref().map(|i| i.uptime_ms),
    }
}

/// The entries of `node`'s `/api/members`, if it answers.
pub(crate) fn members(node: &NodeRecord) -> Option<Vec<MemberView>> {
    get(node.http?, "/api/members")
}

/// How many members (itself included) `node` lists as alive, if it answers.
pub(crate) fn alive_members(node: &NodeRecord) -> Option<usize> {
    Some(members(node)?.iter().filter(|m| m.is_alive()).count())
}

/// How long one of these requests may take.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `path`'s 200 answer as `T`; `None` if the node does not answer so.
pub(crate) fn get<T: DeserializeOwned>(addr: std::net::SocketAddr, path: &str) -> Option<T> {
    client::get(addr, path, TIMEOUT).ok()
}

/// A cell: the value, `-` for none.
fn text(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}
