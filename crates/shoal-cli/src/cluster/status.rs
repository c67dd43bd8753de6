//! `shoal cluster status`: each node's process and its own view of the cluster.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
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
    let rows: Vec<Value> = state.nodes.iter().map(|n| row(state, n)).collect();
    if json {
        outln!("{}", Value::Array(rows.clone()));
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
                text(&r["name"]),
                text(&r["pid"]),
                text(&r["state"]),
                text(&r["members"]),
                text(&r["listen"]),
                text(&r["http"]),
                text(&r["version"]),
                r["uptime_ms"]
                    .as_u64()
                    .map_or("-".into(), |ms| format!("{}s", ms / 1000)),
            );
        }
    }
    let faults = super::cause::faults(&rows);
    if !faults.is_empty() {
        anyhow::bail!("{}", super::cause::line(dir, &faults));
    }
    let size = state.nodes.len() as u64;
    let partial: Vec<String> = rows
        .iter()
        .filter(|r| r["members"].as_u64() != Some(size))
        .map(|r| format!("{} sees {}", text(&r["name"]), text(&r["members"])))
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

pub(crate) fn row(state: &ClusterState, node: &NodeRecord) -> Value {
    let running = is_our_process(node.pid, &state.bin);
    let info: Option<NodeView> = node.http.and_then(|h| get(h, "/api/node"));
    let status = match (running, &info) {
        (false, _) => "down",
        (true, Some(_)) => "up",
        (true, None) if crate::bench::procfs::is_stopped(node.pid) => "paused",
        (true, None) => "starting",
    };
    json!({
        "name": node.name, "pid": node.pid, "state": status, "listen": node.listen, "http": node.http,
        "members": alive_members(node), "version": info.as_ref().map(|i| i.version.clone()),
        "uptime_ms": info.as_ref().map(|i| i.uptime_ms),
    })
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

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}
