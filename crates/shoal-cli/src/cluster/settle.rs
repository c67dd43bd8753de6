//! Waiting for the distributed supervisor to settle, so that `restart` never stops a node
//! while children move with their state (a graceful leave, a rebalance after a join, a
//! migration).
//!
//! Settled means, in the `GET /api/supervisor` of every node whose process runs: every
//! child's owner is one of those nodes, no child is `moving`, every child runs (has a pid) or was given up
//! (`failed`), and every node names the same owner for every child. It must hold for
//! [`QUIET`] in a row: a node that joined is given children by rebalancing only after the
//! supervisor's 1 s hold, so a cluster that looks settled right after a join may not be.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use shoal_api::views::SupervisorView;
use shoal_api::{http_get, wait_until};

use super::state::{ClusterState, NodeRecord};

/// How long the supervisor may take to settle.
pub(crate) const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the settled condition must hold without a break (see the module doc).
pub(crate) const QUIET: Duration = Duration::from_secs(2);

/// One child as one node sees it: the fields this wait reads.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Child {
    id: String,
    owner: String,
    moving: bool,
    /// It has a pid, or was given up.
    running: bool,
}

/// Waits until the supervisor has settled (see the module doc); returns at once when no node
/// has children. The error names the children still moving, owned by a node that is not
/// live, or not running.
pub(crate) fn wait_settled(state: &ClusterState) -> anyhow::Result<()> {
    let mut quiet_since: Option<Instant> = None;
    let mut last = Vec::new();
    let settled = wait_until(SETTLE_TIMEOUT, || match look(state) {
        Err(problems) => {
            quiet_since = None;
            last = problems;
            None
        }
        Ok(false) => Some(()),
        Ok(true) => (quiet_since.get_or_insert_with(Instant::now).elapsed() >= QUIET).then_some(()),
    });
    settled.ok_or_else(|| {
        anyhow::anyhow!(
            "the supervisor did not settle within {SETTLE_TIMEOUT:?}: {}; see GET /api/supervisor on any node",
            last.join("; ")
        )
    })
}

/// One look at every node: `Ok(whether there are children)` if settled, else the problems.
fn look(state: &ClusterState) -> Result<bool, Vec<String>> {
    let mut views = Vec::new();
    let mut problems = Vec::new();
    let running = state.live_nodes();
    for node in &running {
        match view(node) {
            Ok(children) => views.push((node.name.as_str(), children)),
            Err(e) => problems.push(e),
        }
    }
    let live: BTreeSet<&str> = running.iter().map(|n| n.name.as_str()).collect();
    let all: Vec<&Child> = views.iter().flat_map(|(_, v)| v).collect();
    let list = |what: &str, pick: &dyn Fn(&Child) -> bool| {
        let ids: BTreeSet<String> = all
            .iter()
            .filter(|c| pick(c))
            .map(|c| format!("{} (owner {})", c.id, c.owner))
            .collect();
        (!ids.is_empty()).then(|| format!("{what}: {}", abridged(&ids)))
    };
    problems.extend(list("still moving", &|c| c.moving));
    problems.extend(list("owner not live", &|c| !live.contains(c.owner.as_str())));
    problems.extend(list("not running", &|c| !c.running));
    if let Some((first, table)) = views.first()
        && let Some((other, _)) = views.iter().find(|(_, t)| owners(t) != owners(table))
    {
        problems.push(format!("{first} and {other} name different owners"));
    }
    if problems.is_empty() {
        Ok(!all.is_empty())
    } else {
        Err(problems)
    }
}

/// `node`'s children, sorted by id; none for a binary without the supervisor API (404).
fn view(node: &NodeRecord) -> Result<Vec<Child>, String> {
    let silent = || format!("{} does not answer GET /api/supervisor", node.name);
    let http = node.http.ok_or_else(silent)?;
    let (status, body) = http_get(http, "/api/supervisor").map_err(|_| silent())?;
    if status == 404 {
        return Ok(Vec::new());
    }
    if status != 200 {
        return Err(silent());
    }
    let body: SupervisorView = serde_json::from_str(&body).map_err(|_| silent())?;
    let mut children: Vec<Child> = body
        .children
        .into_iter()
        .map(|c| Child {
            running: c.is_settled(),
            id: c.id,
            owner: c.owner,
            moving: c.moving,
        })
        .collect();
    children.sort();
    Ok(children)
}

fn owners(children: &[Child]) -> Vec<(&str, &str)> {
    children
        .iter()
        .map(|c| (c.id.as_str(), c.owner.as_str()))
        .collect()
}

/// The first 8 items, then how many more.
fn abridged(items: &BTreeSet<String>) -> String {
    let shown: Vec<&str> = items.iter().take(8).map(String::as_str).collect();
    match items.len().saturating_sub(shown.len()) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}
