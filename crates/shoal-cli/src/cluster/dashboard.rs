//! `shoal cluster dashboard`: the URL of a live node's dashboard page.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::bail;
use shoal_api::client;

use super::state::ClusterState;
use crate::hint;

/// How long each node gets to answer `/health`.
const ASK: std::time::Duration = std::time::Duration::from_secs(2);

/// Prints the page URL of the first node (in the recorded order) whose HTTP API answers;
/// with `open`, also opens it in a browser (`$BROWSER`, else `xdg-open` or `open`).
pub(crate) fn run(dir: &Path, open: bool, json: bool) -> anyhow::Result<()> {
    let state = ClusterState::load_required(dir)?;
    let Some((name, addr)) = live_page(&state) else {
        bail!(
            "no node of the cluster in {} answers on its HTTP address; {} shows which are down",
            dir.display(),
            hint::shoal(dir, "cluster status")
        );
    };
    let url = url(addr);
    if json {
        outln!("{}", serde_json::json!({ "node": name, "url": url }));
    } else {
        outln!("{url}");
    }
    if open {
        open_browser(&url)?;
    }
    Ok(())
}

/// The page's URL at `addr`.
pub(crate) fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}

/// The first recorded node whose HTTP API answers `/health`, and its address.
pub(crate) fn live_page(state: &ClusterState) -> Option<(String, SocketAddr)> {
    state.nodes.iter().find_map(|n| {
        let addr = n.http?;
        match client::http_request(addr, "GET", "/health", None, ASK) {
            Ok((200, _)) => Some((n.name.clone(), addr)),
            _ => None,
        }
    })
}

/// Starts a browser on `url` without waiting for it; fails, naming what it tried, when
/// none can be started.
fn open_browser(url: &str) -> anyhow::Result<()> {
    let from_env = std::env::var("BROWSER").ok().filter(|b| !b.trim().is_empty());
    let candidates: Vec<String> = from_env
        .into_iter()
        .chain(["xdg-open", "open"].map(String::from))
        .collect();
    for program in &candidates {
        let started = Command::new(program)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if started.is_ok() {
            return Ok(());
        }
    }
    bail!(
        "--open: no browser could be started (tried {}); open {url} yourself, or set BROWSER",
        candidates.join(", ")
    )
}
