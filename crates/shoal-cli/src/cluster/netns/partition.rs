//! `shoal cluster partition` and `heal` on a `--netns` cluster: links down and up.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::bail;
use serde_json::json;

use super::Netns;
use crate::cluster::state::ClusterState;
use crate::hint;

/// `partition A / B ...` on a `--netns` cluster: takes down the bridge port of each node that
/// [`links_to_cut`] names, and brings every other up (a split replaces the last one). A cut
/// node's traffic then goes nowhere, to every node and to the host (its HTTP API does not
/// answer until the heal); open links stay open and go silent, as in a real network split.
pub(crate) fn partition(
    dir: &Path,
    state: &ClusterState,
    net: &Netns,
    groups: &[BTreeSet<String>],
    json: bool,
) -> anyhow::Result<()> {
    let names: Vec<String> = state.nodes.iter().map(|n| n.name.clone()).collect();
    let cut = links_to_cut(&names, groups)?;
    // This split replaces any earlier one, as a partition through the nodes' filters does.
    for (i, name) in names.iter().enumerate() {
        net.set_link(i + 1, !cut.contains(name))?;
    }
    let cut: Vec<&String> = cut.iter().collect();
    if json {
        outln!("{}", json!({"partitioned": groups, "links_down": cut}));
    } else {
        let sides: Vec<Vec<&String>> = groups.iter().map(|g| g.iter().collect()).collect();
        outln!(
            "partitioned {sides:?}: the links of {cut:?} are down (their HTTP APIs do not answer \
             until the heal); {} ends it",
            hint::shoal(dir, "cluster heal")
        );
    }
    Ok(())
}

/// `heal` on a `--netns` cluster: every node's bridge port up again. The caller then ends any
/// partition set through the nodes' own filters (the dashboard's Chaos view) too.
pub(crate) fn heal(state: &ClusterState, net: &Netns) -> anyhow::Result<()> {
    for i in 1..=state.nodes.len() {
        net.set_link(i, true)?;
    }
    Ok(())
}

/// The nodes whose bridge port `partition` takes down, so that nodes of different groups cannot
/// reach each other and nodes of one group still can. A link down cuts its node off from
/// every other, so this is exact only when every node is in a group and all groups but the
/// largest have a single node (those nodes are cut); any other split is refused, naming the
/// rule.
pub(crate) fn links_to_cut(
    nodes: &[String],
    groups: &[BTreeSet<String>],
) -> anyhow::Result<BTreeSet<String>> {
    let named: BTreeSet<&String> = groups.iter().flatten().collect();
    let unnamed: Vec<&str> = nodes
        .iter()
        .filter(|n| !named.contains(n))
        .map(String::as_str)
        .collect();
    let rule = "on a --netns cluster a partition takes the links of whole nodes down, so every \
                side but one must be a single node, e.g. `n1,n2,n3 / n4 / n5`";
    if !unnamed.is_empty() {
        bail!("{rule}, and every node must be named: add {}", unnamed.join(", "));
    }
    let largest = groups
        .iter()
        .enumerate()
        .max_by_key(|(_, g)| g.len())
        .map_or(0, |(i, _)| i);
    let mut cut = BTreeSet::new();
    for (i, group) in groups.iter().enumerate() {
        if i == largest {
            continue;
        }
        if group.len() > 1 {
            let side: Vec<&str> = group.iter().map(String::as_str).collect();
            bail!("{rule}; the side {} has {} nodes", side.join(","), side.len());
        }
        cut.extend(group.iter().cloned());
    }
    Ok(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn a_minority_of_single_nodes_is_cut_by_its_links() {
        let cut = links_to_cut(&nodes(5), &[set(&["n1", "n2", "n3"]), set(&["n4"]), set(&["n5"])]).unwrap();
        assert_eq!(cut, set(&["n4", "n5"]));
        let cut = links_to_cut(&nodes(3), &[set(&["n3"]), set(&["n1", "n2"])]).unwrap();
        assert_eq!(cut, set(&["n3"]));
    }

    #[test]
    fn a_split_that_a_link_down_cannot_express_is_refused() {
        let two_by_two = links_to_cut(&nodes(4), &[set(&["n1", "n2"]), set(&["n3", "n4"])]);
        assert!(two_by_two.unwrap_err().to_string().contains("the side"));
        let unnamed = links_to_cut(&nodes(4), &[set(&["n1", "n2"]), set(&["n3"])]);
        assert!(unnamed.unwrap_err().to_string().contains("add n4"));
    }
}
