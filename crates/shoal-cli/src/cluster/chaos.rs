//! Fault injection on a running cluster: `kill`, `pause` / `resume` (signals to the node
//! process, by recorded pid) and `partition` / `heal` (through every node's
//! `/api/chaos` endpoint, with the cluster's admin token).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use shoal_api::http_request;

use super::start::ADMIN_TOKEN_FILE;
use super::state::{ClusterState, NodeRecord, is_our_process};
use crate::hint;

/// How long a command waits for each node's answer.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The deadline a `partition` or `heal` request carries, from when it is sent: shorter than
/// [`TIMEOUT`], so a node that handles it late (it was paused) refuses it rather than apply
/// it after this command said it did not answer. The 500 ms between them cover the answer's
/// way back.
const APPLY_WINDOW: Duration = Duration::from_millis(1_500);

/// `kill NODE` (SIGKILL), `pause NODE` (SIGSTOP), `resume NODE` (SIGCONT).
pub(crate) fn signal(dir: &Path, node: &str, signal: Signal, json: bool) -> anyhow::Result<()> {
    let state = ClusterState::load_required(dir)?;
    let record = find(&state, node)?;
    if !is_our_process(record.pid, &state.bin) {
        bail!(
            "{node} (pid {}) is not running; bring it back with {}",
            record.pid,
            hint::shoal(dir, &format!("cluster restart {node}"))
        );
    }
    kill(Pid::from_raw(record.pid as i32), signal).with_context(|| format!("cannot signal {node}"))?;
    if json {
        outln!(
            "{}",
            json!({"node": node, "pid": record.pid, "signal": signal.as_str()})
        );
    } else {
        outln!(
            "sent {} to {node} (pid {}){}",
            signal.as_str(),
            record.pid,
            next_step(dir, node, signal)
        );
    }
    Ok(())
}

/// What to run after `signal`: the command that undoes it.
fn next_step(dir: &Path, node: &str, signal: Signal) -> String {
    match signal {
        Signal::SIGKILL => format!(
            "; bring it back with {}",
            hint::shoal(dir, &format!("cluster restart {node}"))
        ),
        Signal::SIGSTOP => format!(
            "; thaw it with {}",
            hint::shoal(dir, &format!("cluster resume {node}"))
        ),
        _ => String::new(),
    }
}

fn find<'a>(state: &'a ClusterState, node: &str) -> anyhow::Result<&'a NodeRecord> {
    state.nodes.iter().find(|n| n.name == node).with_context(|| {
        let names: Vec<&str> = state.nodes.iter().map(|n| n.name.as_str()).collect();
        format!(
            "no node {node} in this cluster; its nodes are {}",
            names.join(", ")
        )
    })
}

/// Splits `n1,n2 / n3` (as one or several arguments) into groups of node names.
pub(crate) fn groups(args: &[String]) -> anyhow::Result<Vec<BTreeSet<String>>> {
    let text = args.join(" ");
    let groups: Vec<BTreeSet<String>> = text
        .split('/')
        .map(|g| {
            g.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect();
    if groups.len() < 2 || groups.iter().any(BTreeSet::is_empty) {
        bail!("write the sides of the partition separated by '/', e.g. `shoal cluster partition n1,n2 / n3`");
    }
    Ok(groups)
}

/// `partition A / B [/ C ...]`: every node is cut off from the nodes of the other groups.
/// Nodes named in no group stay connected to everyone.
///
/// Every node that answers applies its part, even when others do not: a node that blocks a
/// peer cuts that pair off, so one side's part is enough. A node that does not answer
/// (paused, or too slow) is named, and will not apply the request later: it carries a
/// deadline ([`APPLY_WINDOW`]) that passes before this command stops waiting. Fails only if
/// some pair of nodes on different sides is left uncut (neither end answered).
pub(crate) fn partition(dir: &Path, args: &[String], json: bool) -> anyhow::Result<()> {
    let state = ClusterState::load_required(dir)?;
    let groups = groups(args)?;
    for name in groups.iter().flatten() {
        find(&state, name)?;
    }
    if let Some(net) = &state.netns {
        return super::netns::partition(dir, &state, net, &groups, json);
    }
    let token = token(dir)?;
    let mut unanswered: Vec<(String, String)> = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let others: Vec<&str> = groups
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, g)| g.iter().map(String::as_str))
            .collect();
        for name in group {
            let path = format!("/api/chaos/partition?peers={}", others.join(","));
            if let Err(e) = post(find(&state, name)?, &path, &token) {
                unanswered.push((name.clone(), format!("{e:#}")));
            }
        }
    }
    let missing: BTreeSet<&str> = unanswered.iter().map(|(n, _)| n.as_str()).collect();
    let uncut = uncut_pairs(&groups, &missing);
    let sides: Vec<Vec<&String>> = groups.iter().map(|g| g.iter().collect()).collect();
    if json {
        let unanswered: Vec<_> = unanswered
            .iter()
            .map(|(node, error)| json!({"node": node, "error": error}))
            .collect();
        outln!(
            "{}",
            json!({"partitioned": sides, "unanswered": unanswered, "uncut": uncut})
        );
    } else {
        for (node, error) in &unanswered {
            eprintln!(
                "warning: {node} did not apply its part ({error}); it will not apply it later \
                 (the request expires first), and the nodes of the other sides block it"
            );
        }
        if uncut.is_empty() {
            outln!(
                "partitioned {sides:?}; {} shows the split, {} ends it",
                hint::shoal(dir, "cluster health"),
                hint::shoal(dir, "cluster heal")
            );
        }
    }
    if !uncut.is_empty() {
        let pairs: Vec<String> = uncut.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        bail!(
            "not partitioned as asked: neither end of {} answered, so traffic between them still \
             flows; the nodes that answered applied their part ({} undoes it)",
            pairs.join(", "),
            hint::shoal(dir, "cluster heal")
        );
    }
    Ok(())
}

/// Pairs of nodes on different sides neither of which applied its part (`missing`).
fn uncut_pairs<'a>(groups: &'a [BTreeSet<String>], missing: &BTreeSet<&str>) -> Vec<(&'a str, &'a str)> {
    let mut pairs = Vec::new();
    for (i, a) in groups.iter().enumerate() {
        for b in &groups[i + 1..] {
            for x in a.iter().filter(|x| missing.contains(x.as_str())) {
                for y in b.iter().filter(|y| missing.contains(y.as_str())) {
                    pairs.push((x.as_str(), y.as_str()));
                }
            }
        }
    }
    pairs
}

/// `heal`: ends every node's partition. A node that does not answer is named; it keeps any
/// partition it had, and will not apply this heal later (it expires first, so it cannot
/// undo a partition set after it).
pub(crate) fn heal(dir: &Path, json: bool) -> anyhow::Result<()> {
    let state = ClusterState::load_required(dir)?;
    if let Some(net) = &state.netns {
        super::netns::heal(&state, net)?;
    }
    let token = token(dir)?;
    let mut failed = Vec::new();
    for node in &state.nodes {
        if let Err(e) = post(node, "/api/chaos/heal", &token) {
            failed.push(format!("{}: {e:#}", node.name));
        }
    }
    if json {
        outln!("{}", json!({"healed": failed.is_empty(), "errors": failed}));
    } else if failed.is_empty() {
        outln!("healed; nodes reconnect through discovery within a few seconds");
    }
    if !failed.is_empty() {
        bail!(
            "healed every node that answered; these did not, and keep any partition they had: {} \
             (run {} again once they answer; {} if paused)",
            failed.join("; "),
            hint::shoal(dir, "cluster heal"),
            hint::shoal(dir, "cluster resume NODE")
        );
    }
    Ok(())
}

fn token(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join(ADMIN_TOKEN_FILE);
    std::fs::read_to_string(&path)
        .map(|t| t.trim().to_owned())
        .with_context(|| {
            format!(
                "cannot read {}; only a cluster started by `shoal cluster start` has it",
                path.display()
            )
        })
}

/// POSTs `path` to `node` with a deadline [`APPLY_WINDOW`] from now.
fn post(node: &NodeRecord, path: &str, token: &str) -> anyhow::Result<()> {
    let http = node
        .http
        .with_context(|| format!("{} has no HTTP address recorded", node.name))?;
    let deadline_ms = (shoal_node::now_us() / 1000) + APPLY_WINDOW.as_millis() as u64;
    let sep = if path.contains('?') { '&' } else { '?' };
    let path = format!("{path}{sep}deadline_ms={deadline_ms}");
    let (status, body) = http_request(http, "POST", &path, Some(token), TIMEOUT)
        .with_context(|| format!("{} did not answer within {TIMEOUT:?}", node.name))?;
    if status != 200 {
        bail!("{} refused: {body}", node.name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn partition_groups_parse_with_or_without_spaces() {
        let expected = vec![
            BTreeSet::from(["n1".to_owned(), "n2".to_owned()]),
            BTreeSet::from(["n3".to_owned()]),
        ];
        assert_eq!(groups(&strings(&["n1,n2", "/", "n3"])).unwrap(), expected);
        assert_eq!(groups(&strings(&["n1,n2/n3"])).unwrap(), expected);
        assert!(groups(&strings(&["n1,n2"])).is_err());
        assert!(groups(&strings(&["n1", "/"])).is_err());
    }

    #[test]
    fn a_pair_is_left_uncut_only_when_neither_end_answered() {
        let groups = groups(&strings(&["n1,n2", "/", "n3,n4"])).unwrap();
        assert!(uncut_pairs(&groups, &BTreeSet::from(["n3"])).is_empty());
        assert!(uncut_pairs(&groups, &BTreeSet::from(["n1", "n2"])).is_empty());
        assert_eq!(
            uncut_pairs(&groups, &BTreeSet::from(["n2", "n3"])),
            vec![("n2", "n3")]
        );
    }
}
