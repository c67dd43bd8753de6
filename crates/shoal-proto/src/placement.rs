//! Where a distributed supervisor's child runs: pure functions of the child's id and the
//! candidate nodes, so every node with the same view picks the same owner without asking
//! anyone.
//!
//! - [`PlacementStrategy::Uniform`]: rendezvous (highest random weight) hashing. Each node
//!   scores `xxh64(child id, node name)` and the highest score wins. A member joining takes
//!   only the children it now scores highest on; a member leaving moves only its own.
//! - [`PlacementStrategy::LeastLoaded`]: the candidate with the fewest children, ties broken
//!   by the rendezvous score. Load is the number of children a node owns in the replicated
//!   child table, which every node agrees on once replicas converge; it is not gossiped in
//!   the member record (that record is the SWIM identity and must not change while a node
//!   runs, see [`crate::Member`]).
//! - [`PlacementStrategy::Custom`]: a [`Placement`] registered under a name on every node.
//!
//! Any strategy can be limited to members with a role ([`PlacementHints::role`]).

use std::hash::Hasher;

use serde::{Deserialize, Serialize};

use crate::node_id::NodeName;

/// How a child's owner is chosen. New variants go at the end (this travels in child specs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlacementStrategy {
    /// Rendezvous hashing over the candidates (the default).
    #[default]
    Uniform,
    /// The candidate that owns the fewest children.
    LeastLoaded,
    /// A [`Placement`] registered under this name on every node.
    Custom(String),
}

/// Placement part of a child spec: a strategy, optionally limited to a role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlacementHints {
    /// How to choose among eligible nodes.
    pub strategy: PlacementStrategy,
    /// Only nodes started with this role are eligible.
    pub role: Option<String>,
}

/// A live node that may own children.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// The node's name.
    pub name: &'a NodeName,
    /// Its roles.
    pub roles: &'a [String],
    /// How many children it owns now.
    pub load: usize,
}

/// A placement strategy: picks the owner of `child` among `candidates` (already limited to
/// the role, never empty). It must be a pure function of its inputs, the same on every node,
/// or two nodes will both claim a child (the registry then stops one instance).
pub trait Placement: Send + Sync {
    /// The chosen candidate's name, or `None` if none is acceptable.
    fn place(&self, child: &str, candidates: &[Candidate<'_>]) -> Option<NodeName>;
}

/// Rendezvous hashing: the candidate with the highest [`score`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Uniform;

impl Placement for Uniform {
    fn place(&self, child: &str, candidates: &[Candidate<'_>]) -> Option<NodeName> {
        candidates
            .iter()
            .max_by_key(|c| (score(child, c.name), c.name))
            .map(|c| c.name.clone())
    }
}

/// The candidate with the least load; among equals, the highest [`score`].
#[derive(Clone, Copy, Debug, Default)]
pub struct LeastLoaded;

impl Placement for LeastLoaded {
    fn place(&self, child: &str, candidates: &[Candidate<'_>]) -> Option<NodeName> {
        candidates
            .iter()
            .max_by_key(|c| (std::cmp::Reverse(c.load), score(child, c.name), c.name))
            .map(|c| c.name.clone())
    }
}

/// The rendezvous weight of `node` for `child`.
pub fn score(child: &str, node: &NodeName) -> u64 {
    let mut hasher = twox_hash::XxHash64::with_seed(0);
    hasher.write(child.as_bytes());
    hasher.write_u8(0xff); // no id/name split gives the same bytes as another
    hasher.write(node.as_str().as_bytes());
    hasher.finish()
}

/// Why no node could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// No live node has the role (or no node is live).
    #[error("no live node is eligible{}", role.as_ref().map(|r| format!(" (role {r:?})")).unwrap_or_default())]
    NoEligibleNode {
        /// The role asked for.
        role: Option<String>,
    },
    /// A custom strategy is not registered on this node.
    #[error("placement strategy {0:?} is not registered on this node")]
    UnknownStrategy(String),
}

/// Picks the owner of `child` by `hints` among `candidates`; `custom` resolves custom
/// strategies by name.
pub fn place<'p>(
    hints: &PlacementHints,
    child: &str,
    candidates: &[Candidate<'_>],
    custom: impl FnOnce(&str) -> Option<&'p dyn Placement>,
) -> Result<NodeName, PlacementError> {
    let eligible: Vec<Candidate<'_>> = candidates
        .iter()
        .filter(|c| hints.role.as_ref().is_none_or(|r| c.roles.contains(r)))
        .copied()
        .collect();
    let no_node = || PlacementError::NoEligibleNode {
        role: hints.role.clone(),
    };
    if eligible.is_empty() {
        return Err(no_node());
    }
    let chosen = match &hints.strategy {
        PlacementStrategy::Uniform => Uniform.place(child, &eligible),
        PlacementStrategy::LeastLoaded => LeastLoaded.place(child, &eligible),
        PlacementStrategy::Custom(name) => custom(name)
            .ok_or_else(|| PlacementError::UnknownStrategy(name.clone()))?
            .place(child, &eligible),
    };
    chosen
        .filter(|name| eligible.iter().any(|c| c.name == name))
        .ok_or_else(no_node)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn names(n: usize) -> Vec<NodeName> {
        (0..n).map(|i| NodeName::new(format!("n{i}")).unwrap()).collect()
    }

    fn candidates<'a>(names: &'a [NodeName], roles: &'a [String]) -> Vec<Candidate<'a>> {
        names
            .iter()
            .map(|name| Candidate { name, roles, load: 0 })
            .collect()
    }

    fn uniform(child: &str, names: &[NodeName]) -> NodeName {
        place(&PlacementHints::default(), child, &candidates(names, &[]), |_| {
            None
        })
        .unwrap()
    }

    proptest! {
        /// Removing a member that does not own a child never moves the child; adding one moves
        /// it only to the newcomer.
        #[test]
        fn uniform_is_stable_when_unrelated_members_change(
            child in "[a-z0-9]{1,12}",
            n in 2usize..12,
            gone in 0usize..12,
        ) {
            let all = names(n);
            let owner = uniform(&child, &all);
            let gone = &all[gone % n];
            let rest: Vec<NodeName> = all.iter().filter(|m| *m != gone).cloned().collect();
            if *gone != owner {
                prop_assert_eq!(uniform(&child, &rest), owner.clone());
            }
            let mut more = all.clone();
            more.push(NodeName::new("newcomer").unwrap());
            let now = uniform(&child, &more);
            prop_assert!(now == owner || now.as_str() == "newcomer");
        }

        /// The choice does not depend on the order the candidates come in.
        #[test]
        fn placement_ignores_candidate_order(child in "[a-z]{1,8}", n in 1usize..10, seed: u64) {
            let mut all = names(n);
            let first = uniform(&child, &all);
            all.rotate_left((seed as usize) % n);
            prop_assert_eq!(uniform(&child, &all), first);
        }
    }

    #[test]
    fn uniform_spreads_children_evenly() {
        let all = names(5);
        let mut counts: BTreeMap<NodeName, usize> = BTreeMap::new();
        for i in 0..10_000 {
            *counts.entry(uniform(&format!("child-{i}"), &all)).or_default() += 1;
        }
        for (node, count) in &counts {
            assert!(
                (1_800..=2_200).contains(count),
                "{node} owns {count} of 10000: {counts:?}"
            );
        }
    }

    #[test]
    fn least_loaded_picks_the_smallest_load_and_keeps_filling_evenly() {
        let all = names(4);
        let mut loads = [5usize, 2, 9, 2];
        for i in 0..100 {
            let cands: Vec<Candidate<'_>> = all
                .iter()
                .zip(loads)
                .map(|(name, load)| Candidate {
                    name,
                    roles: &[],
                    load,
                })
                .collect();
            let hints = PlacementHints {
                strategy: PlacementStrategy::LeastLoaded,
                role: None,
            };
            let chosen = place(&hints, &format!("c{i}"), &cands, |_| None).unwrap();
            let at = all.iter().position(|n| *n == chosen).unwrap();
            assert_eq!(loads[at], *loads.iter().min().unwrap(), "{loads:?}");
            loads[at] += 1;
        }
        assert!(
            loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 1,
            "{loads:?}"
        );
    }

    #[test]
    fn role_limits_the_candidates_and_a_missing_role_is_an_error() {
        let all = names(3);
        let workers = ["worker".to_owned()];
        let cands = vec![
            Candidate {
                name: &all[0],
                roles: &[],
                load: 0,
            },
            Candidate {
                name: &all[1],
                roles: &workers,
                load: 0,
            },
            Candidate {
                name: &all[2],
                roles: &[],
                load: 0,
            },
        ];
        let hints = PlacementHints {
            strategy: PlacementStrategy::Uniform,
            role: Some("worker".into()),
        };
        for i in 0..50 {
            assert_eq!(place(&hints, &format!("c{i}"), &cands, |_| None).unwrap(), all[1]);
        }
        let none = PlacementHints {
            role: Some("db".into()),
            ..hints
        };
        let err = place(&none, "c", &cands, |_| None).unwrap_err();
        assert_eq!(err.to_string(), "no live node is eligible (role \"db\")");
    }

    struct First;
    impl Placement for First {
        fn place(&self, _child: &str, candidates: &[Candidate<'_>]) -> Option<NodeName> {
            candidates.iter().map(|c| c.name.clone()).min()
        }
    }

    #[test]
    fn custom_strategies_resolve_by_name() {
        let all = names(3);
        let cands = candidates(&all, &[]);
        let hints = PlacementHints {
            strategy: PlacementStrategy::Custom("first".into()),
            role: None,
        };
        let first = First;
        let found = place(&hints, "c", &cands, |name| {
            (name == "first").then_some(&first as &dyn Placement)
        });
        assert_eq!(found.unwrap(), all[0]);
        let missing = place(&hints, "c", &cands, |_| None).unwrap_err();
        assert_eq!(missing, PlacementError::UnknownStrategy("first".into()));
    }
}
