//! `shoal cluster health`: every check must pass for exit code 0.

use std::path::Path;

use serde_json::{Value, json};

use super::state::ClusterState;
use super::status::{get_json, row};
use crate::bench::procfs;

pub(crate) fn run(dir: &Path, json: bool) -> anyhow::Result<()> {
    let state = ClusterState::load_required(dir)?;
    let rows: Vec<Value> = state.nodes.iter().map(|n| row(&state, n)).collect();
    let checks = checks(&state, &rows);
    let healthy = checks.iter().all(|c| c["ok"] == true);
    if json {
        println!(
            "{}",
            json!({ "healthy": healthy, "checks": checks, "nodes": rows })
        );
    } else {
        for c in &checks {
            let mark = if c["ok"] == true { "ok  " } else { "FAIL" };
            println!(
                "{mark} {:<12} {}",
                c["check"].as_str().unwrap_or(""),
                c["detail"].as_str().unwrap_or("")
            );
        }
    }
    if !healthy {
        anyhow::bail!(
            "cluster in {} is not healthy; see the failing checks above",
            dir.display()
        );
    }
    Ok(())
}

fn checks(state: &ClusterState, rows: &[Value]) -> Vec<Value> {
    let size = state.nodes.len();
    let down: Vec<&str> = rows
        .iter()
        .filter(|r| r["state"] != "up")
        .filter_map(|r| r["name"].as_str())
        .collect();
    let views = member_views(state);
    let disagree: Vec<&str> = views
        .iter()
        .filter(|(_, v)| v.len() != size)
        .map(|(n, _)| n.as_str())
        .collect();
    let mut versions: Vec<String> = rows
        .iter()
        .filter_map(|r| r["version"].as_str().map(String::from))
        .collect();
    versions.sort();
    versions.dedup();
    let resources: Vec<String> = state
        .nodes
        .iter()
        .map(|n| {
            format!(
                "{} {:.1} MiB",
                n.name,
                procfs::rss_kib(n.pid).unwrap_or(0) as f64 / 1024.0
            )
        })
        .collect();
    vec![
        check(
            "nodes up",
            down.is_empty(),
            &if down.is_empty() {
                format!("{size} of {size}")
            } else {
                format!("down: {}", down.join(", "))
            },
        ),
        check(
            "full mesh",
            disagree.is_empty(),
            &if disagree.is_empty() {
                format!("every node sees all {size}")
            } else {
                format!("incomplete view on: {}", disagree.join(", "))
            },
        ),
        check("links", links_ok(state), "every node holds a link to every other"),
        check("same build", versions.len() == 1, &versions.join(" vs ")),
        check("memory", true, &resources.join(", ")),
    ]
}

fn check(name: &str, ok: bool, detail: &str) -> Value {
    json!({ "check": name, "ok": ok, "detail": detail })
}

/// Each node's list of alive member names (itself included).
fn member_views(state: &ClusterState) -> Vec<(String, Vec<String>)> {
    state
        .nodes
        .iter()
        .map(|n| {
            let members = n
                .http
                .and_then(|h| get_json(h, "/api/members"))
                .unwrap_or_default();
            let alive = members
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| m["state"] == "alive")
                .filter_map(|m| m["name"].as_str().map(String::from))
                .collect();
            (n.name.clone(), alive)
        })
        .collect()
}

fn links_ok(state: &ClusterState) -> bool {
    state.nodes.iter().all(|n| {
        let members = n
            .http
            .and_then(|h| get_json(h, "/api/members"))
            .unwrap_or_default();
        let peers: Vec<&Value> = members
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["self"] == false)
            .collect();
        peers.len() + 1 == state.nodes.len() && peers.iter().all(|m| m["linked"] == true)
    })
}
