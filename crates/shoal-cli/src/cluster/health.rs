//! `shoal cluster health`: every check must pass for exit code 0.
//!
//! A node that is not up is the cause of every check it would break: the `nodes up` check
//! names it once, with the command that brings it back (see [`super::cause`]), and the other
//! checks look at the nodes that are up only, so one dead node is one failing line.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use shoal_api::views::{MemberView, RegistryEntry, SupervisorView};

use super::cause;
use super::state::{ClusterState, NodeRecord};
use super::status::{NodeState, StatusRow, members, row};
use crate::bench::procfs;
use crate::hint;

pub(crate) fn run(dir: &Path, json: bool) -> anyhow::Result<()> {
    let state = ClusterState::load_required(dir)?;
    let (healthy, checks, rows) = evaluate(dir, &state);
    if json {
        let causes = cause::to_json(dir, &cause::faults(&rows));
        outln!(
            "{}",
            json!({ "healthy": healthy, "checks": checks, "nodes": rows, "causes": causes })
        );
    } else {
        for c in &checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            outln!("{mark} {:<12} {}", c.check, c.detail);
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

/// Runs every check: whether all pass, the checks, and the status rows. `dir` is the state
/// directory as the user gave it (for the commands the checks suggest).
pub(crate) fn evaluate(dir: &Path, state: &ClusterState) -> (bool, Vec<Check>, Vec<StatusRow>) {
    let rows: Vec<StatusRow> = state.nodes.iter().map(|n| row(state, n)).collect();
    let checks = checks(dir, state, &rows);
    (checks.iter().all(|c| c.ok), checks, rows)
}

/// One line of `health`: a check, whether it passed, and what it found.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Check {
    /// Its name (`nodes up`, `full mesh`, ...).
    check: String,
    /// Whether it passed.
    ok: bool,
    /// What it found, or what is wrong and the fix.
    detail: String,
}

fn checks(dir: &Path, state: &ClusterState, rows: &[StatusRow]) -> Vec<Check> {
    let faults = cause::faults(rows);
    let size = state.nodes.len();
    let nodes_up = if faults.is_empty() {
        check("nodes up", true, &format!("{size} of {size}"))
    } else {
        check("nodes up", false, &cause::line(dir, &faults))
    };
    let up: Vec<&NodeRecord> = state
        .nodes
        .iter()
        .zip(rows)
        .filter(|(_, r)| r.state == NodeState::Up)
        .map(|(n, _)| n)
        .collect();
    if up.is_empty() {
        return vec![nodes_up];
    }
    // CPU is sampled over a window while the HTTP checks run, so health takes about the
    // window, not the window plus the checks.
    let pids: Vec<u32> = up.iter().map(|n| n.pid).collect();
    let sampler = std::thread::spawn(move || procfs::cpu_percent(&pids, CPU_WINDOW));
    let scope = Scope::new(&up, size);
    let down: BTreeSet<&str> = faults
        .iter()
        .filter(|f| f.kind == cause::FaultKind::Down)
        .map(|f| f.name.as_str())
        .collect();
    let mut versions: Vec<String> = rows.iter().filter_map(|r| r.version.clone()).collect();
    versions.sort();
    versions.dedup();
    let mesh = mesh_checks(&up, &scope);
    let registry = settled(|| registry_check(dir, &up, &scope));
    let supervisor = settled(|| supervisor_check(&up, &down, &scope));
    let cpu = sampler.join().unwrap_or_default();
    let resources: Vec<String> = up
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let rss = procfs::rss_kib(n.pid).unwrap_or(0) as f64 / 1024.0;
            match cpu.get(i) {
                Some(cpu) => format!("{} {rss:.1} MiB {cpu:.1}% CPU", n.name),
                None => format!("{} {rss:.1} MiB", n.name),
            }
        })
        .collect();
    let mut all = vec![nodes_up];
    all.extend(mesh);
    all.extend([
        check("same build", versions.len() == 1, &versions.join(" vs ")),
        registry,
        supervisor,
        check("resources", true, &resources.join(", ")),
    ]);
    all
}

/// Which nodes the checks after `nodes up` look at, and how their details name them.
struct Scope {
    /// The names of the nodes that are up.
    names: Vec<String>,
    /// `every node` when every node is up, else `every node up (n1, n3)`.
    subject: String,
}

impl Scope {
    fn new(up: &[&NodeRecord], size: usize) -> Self {
        let names: Vec<String> = up.iter().map(|n| n.name.clone()).collect();
        let subject = if up.len() == size {
            "every node".to_owned()
        } else {
            format!("every node up ({})", names.join(", "))
        };
        Self { names, subject }
    }
}

/// `full mesh` (every node up sees every node up alive) and `links` (every node up holds a
/// link to every other node up, with their RTTs).
fn mesh_checks(up: &[&NodeRecord], scope: &Scope) -> [Check; 2] {
    let (incomplete, linked, rtts) = views(up, &scope.names);
    let count = up.len();
    let mesh = if incomplete.is_empty() {
        check("full mesh", true, &format!("{} sees all {count}", scope.subject))
    } else {
        check(
            "full mesh",
            false,
            &format!("incomplete view on: {}", incomplete.join(", ")),
        )
    };
    let held = format!("{} holds a link to every other", scope.subject);
    let links = match (
        rtts.len(),
        super::super::bench::median(&rtts),
        rtts.iter().copied().fold(0.0, f64::max),
    ) {
        (0, ..) => held,
        (_, p50, max) => format!("{held}; RTT p50 {p50:.0} µs, max {max:.0} µs"),
    };
    let links = if linked {
        links
    } else {
        format!("not {} holds a link to every other", scope.subject)
    };
    [mesh, check("links", linked, &links)]
}

/// Views read over HTTP one node after another differ for the milliseconds a change takes to
/// replicate, and right after `cluster start --demo` the workload is still starting: an
/// agreement check passes as soon as it holds within this window.
const SETTLE_WINDOW: Duration = Duration::from_secs(3);

/// Runs `check` until it passes or [`SETTLE_WINDOW`] is over; returns its last result.
fn settled(check: impl Fn() -> Check) -> Check {
    let deadline = Instant::now() + SETTLE_WINDOW;
    loop {
        let result = check();
        if result.ok || Instant::now() >= deadline {
            return result;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every node up has the same view of the global registry.
fn registry_check(dir: &Path, up: &[&NodeRecord], scope: &Scope) -> Check {
    let views: Vec<Option<Vec<(String, String)>>> = up
        .iter()
        .map(|n| {
            let entries: Vec<RegistryEntry> = super::status::get(n.http?, "/api/registry")?;
            let mut names: Vec<(String, String)> =
                entries.into_iter().map(|e| (e.name, e.pid_text)).collect();
            names.sort();
            Some(names)
        })
        .collect();
    let agree = views.iter().all(Option::is_some) && views.windows(2).all(|w| w[0] == w[1]);
    let count = views.first().and_then(|v| v.as_ref().map(Vec::len)).unwrap_or(0);
    let detail = if agree {
        format!("{} has the same {count} name(s)", scope.subject)
    } else {
        format!(
            "views differ (or a node did not answer); see {}",
            hint::shoal(dir, "registry")
        )
    };
    check("registry", agree, &detail)
}

/// Every node up has the same child table, and every child that is not given up runs, once,
/// on its owner. A child whose owner is `down` (its process is gone) does not run: the nodes
/// up restart it elsewhere within the settle window, or this check fails.
fn supervisor_check(up: &[&NodeRecord], down: &BTreeSet<&str>, scope: &Scope) -> Check {
    let views: Vec<Option<Vec<(String, String, bool)>>> = up
        .iter()
        .map(|n| {
            let body: SupervisorView = super::status::get(n.http?, "/api/supervisor")?;
            let mut children: Vec<(String, String, bool)> = body
                .children
                .into_iter()
                .map(|c| {
                    let running = (c.pid.is_some() && !down.contains(c.owner.as_str())) || c.failed.is_some();
                    (c.id, c.owner, running)
                })
                .collect();
            children.sort();
            Some(children)
        })
        .collect();
    let agree = views.iter().all(Option::is_some) && views.windows(2).all(|w| w[0] == w[1]);
    let children = views.first().cloned().flatten().unwrap_or_default();
    let stopped: Vec<&str> = children.iter().filter(|c| !c.2).map(|c| c.0.as_str()).collect();
    let detail = match (agree, stopped.as_slice()) {
        (false, _) => "child tables differ (or a node did not answer); see /api/supervisor".to_owned(),
        (true, []) => format!(
            "{} has the same {} child(ren), all running",
            scope.subject,
            children.len()
        ),
        (true, some) => format!("not running: {}", some.join(", ")),
    };
    check("supervisor", agree && stopped.is_empty(), &detail)
}

fn check(name: &str, ok: bool, detail: &str) -> Check {
    Check {
        check: name.to_owned(),
        ok,
        detail: detail.to_owned(),
    }
}

/// Which nodes up have an incomplete view (they do not list every node of `names` alive),
/// whether every node up holds a link to every other node of `names`, and the links' RTTs in
/// µs. Entries for nodes that are not up are left out: their fault is named once, by the
/// `nodes up` check. Each node is asked once.
fn views<'a>(up: &[&'a NodeRecord], names: &[String]) -> (Vec<&'a str>, bool, Vec<f64>) {
    let mut incomplete = Vec::new();
    let mut all_linked = true;
    let mut rtts = Vec::new();
    for node in up {
        let entries = members(node).unwrap_or_default();
        let entry = |name: &str| entries.iter().find(|m| m.name == name);
        let alive = |name: &str| entries.iter().any(|m| m.name == name && m.is_alive());
        if !names.iter().all(|n| alive(n)) {
            incomplete.push(node.name.as_str());
        }
        let peers: Vec<&MemberView> = names
            .iter()
            .filter(|n| **n != node.name)
            .filter_map(|n| entry(n))
            .collect();
        all_linked &= peers.len() + 1 == names.len() && peers.iter().all(|m| m.linked);
        rtts.extend(peers.iter().filter_map(|m| m.rtt_us.map(|us| us as f64)));
    }
    (incomplete, all_linked, rtts)
}

/// How long CPU use is sampled over (the clock tick is 10 ms, so one tick is 6.7 %).
const CPU_WINDOW: std::time::Duration = std::time::Duration::from_millis(150);
