//! Why nodes are not up, said once, with the command that brings them back.
//!
//! A dead node breaks every check that involves it (the mesh, the links, the registry and
//! child-table agreement); `health` and `status` name it here as the one cause and scope the
//! other checks to the nodes that are up, instead of failing each of them.

use std::path::Path;

use serde_json::{Value, json};

use super::status::{NodeState, StatusRow};
use crate::hint;

/// A node that is not up, from its `status` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    /// The node's name.
    pub(crate) name: String,
    /// Its recorded pid.
    pub(crate) pid: u64,
    /// What is wrong with it.
    pub(crate) kind: FaultKind,
}

/// What keeps a node from being up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// Its recorded process no longer runs (killed, crashed, or exited).
    Down,
    /// Its process is stopped (SIGSTOP).
    Paused,
    /// Its process runs but its HTTP API does not answer (still starting, or stuck).
    Silent,
}

/// The nodes among `rows` (from `status::row`) that are not up, in the rows' order.
pub(crate) fn faults(rows: &[StatusRow]) -> Vec<Fault> {
    rows.iter()
        .filter_map(|r| {
            let kind = match r.state {
                NodeState::Up => return None,
                NodeState::Down => FaultKind::Down,
                NodeState::Paused => FaultKind::Paused,
                NodeState::Starting => FaultKind::Silent,
            };
            Some(Fault {
                name: r.name.clone(),
                pid: u64::from(r.pid),
                kind,
            })
        })
        .collect()
}

/// One line naming every fault and the command that repairs it, e.g. ``n2 is down (pid 7945
/// is not running); bring it back with `shoal cluster restart n2` ``. Down nodes are named
/// together: `cluster restart` of one node refuses while another is down, so several are
/// brought back by restarting the cluster. Empty when there is no fault.
pub(crate) fn line(dir: &Path, faults: &[Fault]) -> String {
    let mut parts = Vec::new();
    let down: Vec<&Fault> = faults.iter().filter(|f| f.kind == FaultKind::Down).collect();
    match down.as_slice() {
        [] => {}
        [one] => parts.push(format!(
            "{} is down (pid {} is not running); bring it back with {}",
            one.name,
            one.pid,
            hint::shoal(dir, &format!("cluster restart {}", one.name))
        )),
        many => parts.push(format!(
            "{} are down (pids {} are not running); bring them back with {}",
            join(many.iter().map(|f| f.name.clone())),
            join(many.iter().map(|f| f.pid.to_string())),
            hint::shoal(dir, "cluster restart")
        )),
    }
    for f in faults {
        match f.kind {
            FaultKind::Down => {}
            FaultKind::Paused => parts.push(format!(
                "{} is paused (pid {} is stopped); resume it with {}",
                f.name,
                f.pid,
                hint::shoal(dir, &format!("cluster resume {}", f.name))
            )),
            FaultKind::Silent => parts.push(format!(
                "{} (pid {}) runs but its HTTP API does not answer; its log is {}",
                f.name,
                f.pid,
                dir.join("logs").join(format!("{}.log", f.name)).display()
            )),
        }
    }
    parts.join("; ")
}

/// The faults as JSON: `[{"node", "pid", "state", "fix"}]`, `fix` being the command to run.
pub(crate) fn to_json(dir: &Path, faults: &[Fault]) -> Value {
    let down = faults.iter().filter(|f| f.kind == FaultKind::Down).count();
    faults
        .iter()
        .map(|f| {
            let (state, fix) = match f.kind {
                FaultKind::Down if down == 1 => ("down", format!("cluster restart {}", f.name)),
                FaultKind::Down => ("down", "cluster restart".to_owned()),
                FaultKind::Paused => ("paused", format!("cluster resume {}", f.name)),
                FaultKind::Silent => ("not answering", format!("cluster logs {}", f.name)),
            };
            let fix = hint::shoal(dir, &fix).trim_matches('`').to_owned();
            json!({ "node": f.name, "pid": f.pid, "state": state, "fix": fix })
        })
        .collect()
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, pid: u32, state: &str) -> StatusRow {
        let state = match state {
            "up" => NodeState::Up,
            "down" => NodeState::Down,
            "paused" => NodeState::Paused,
            _ => NodeState::Starting,
        };
        StatusRow {
            name: name.to_owned(),
            pid,
            state,
            listen: None,
            http: None,
            members: None,
            version: None,
            uptime_ms: None,
        }
    }

    #[test]
    fn one_dead_node_is_one_clause_with_its_restart_command() {
        let rows = [row("n1", 1, "up"), row("n2", 2, "down"), row("n3", 3, "up")];
        let faults = faults(&rows);
        assert_eq!(faults.len(), 1);
        assert_eq!(
            line(Path::new("/tmp/c"), &faults),
            "n2 is down (pid 2 is not running); bring it back with \
             `shoal cluster restart n2 --state-dir /tmp/c`"
        );
    }

    #[test]
    fn several_dead_nodes_are_brought_back_by_one_cluster_restart() {
        let rows = [row("n1", 1, "down"), row("n2", 2, "paused"), row("n3", 3, "down")];
        assert_eq!(
            line(Path::new(".shoal"), &faults(&rows)),
            "n1, n3 are down (pids 1, 3 are not running); bring them back with \
             `shoal cluster restart`; n2 is paused (pid 2 is stopped); resume it with \
             `shoal cluster resume n2`"
        );
    }

    #[test]
    fn no_fault_no_line() {
        assert_eq!(line(Path::new(".shoal"), &faults(&[row("n1", 1, "up")])), "");
    }
}
