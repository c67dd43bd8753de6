//! The supervisor's and singletons' safety invariant, checked after every step: on the
//! majority side no child and no singleton ever runs twice.
//!
//! The majority side is the set of running nodes that reach more than half of the running
//! nodes (all of them while the network is whole), less the nodes that were cut off from it
//! by a partition, or isolated by their resolver, and have not caught up since. A node
//! catches up once it lists the same live members, and holds the same child table, as every
//! node of the side it reaches: from then on it computes the same owners and leaders. Until then it may still run what the other
//! side took over meanwhile (it stops it as soon as the newer table or view reaches it), and
//! that is the heal's transient, not a duplicate on the majority side.

use std::collections::{BTreeMap, BTreeSet};

use super::Sim;

impl Sim {
    /// Checks the invariant; records a violation if it breaks.
    pub(super) fn check_supervision(&mut self) {
        if self.singletons.is_empty()
            && self
                .nodes
                .iter()
                .all(|n| n.supervision.table.children().next().is_none())
        {
            return;
        }
        let alive: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].is_alive())
            .collect();
        self.tainted
            .retain(|&(i, life)| self.nodes[i].is_alive() && self.nodes[i].life == life);
        let reaches = |i: usize| alive.iter().filter(|&&j| self.connected(i, j)).count();
        let majority: Vec<usize> = alive
            .iter()
            .copied()
            .filter(|&i| 2 * reaches(i) > alive.len())
            .collect();
        for &i in &alive {
            if !majority.contains(&i) || self.nodes[i].supervision.resolver.is_isolated() {
                self.tainted.insert((i, self.nodes[i].life));
            }
        }
        let caught_up: Vec<(usize, u32)> = self
            .tainted
            .iter()
            .copied()
            .filter(|&(i, _)| {
                let mut side = alive
                    .iter()
                    .filter(|&&j| !self.tainted.contains(&(j, self.nodes[j].life)) && self.connected(i, j))
                    .peekable();
                side.peek().is_some() && side.all(|&j| self.agree(i, j))
            })
            .collect();
        for life in caught_up {
            self.tainted.remove(&life);
        }
        let side: Vec<usize> = majority
            .into_iter()
            .filter(|&i| !self.tainted.contains(&(i, self.nodes[i].life)))
            .collect();
        self.no_two_on(&side);
    }

    /// Whether nodes `i` and `j` can talk now: the network joins them and neither is paused
    /// (a paused node is cut off from everyone until it catches up).
    fn connected(&self, i: usize, j: usize) -> bool {
        self.net.reachable(i, j) && !self.is_paused(i) && !self.is_paused(j)
    }

    /// Whether nodes `i` and `j` list the same live members and hold the same child table.
    fn agree(&self, i: usize, j: usize) -> bool {
        let members = |k: usize| {
            let mut names: BTreeSet<_> = self.nodes[k].view.keys().cloned().collect();
            names.insert(self.nodes[k].name.clone());
            names
        };
        self.nodes[i].supervision.table.digest() == self.nodes[j].supervision.table.digest()
            && members(i) == members(j)
    }

    /// Records a violation if a child or a singleton runs on two nodes of `side`.
    fn no_two_on(&mut self, side: &[usize]) {
        let mut children: BTreeMap<&str, usize> = BTreeMap::new();
        let mut singletons: BTreeMap<&str, usize> = BTreeMap::new();
        let mut broken = None;
        for &i in side {
            let s = &self.nodes[i].supervision;
            for id in s.instances.keys() {
                if let Some(other) = children.insert(id, i) {
                    broken = Some((
                        i,
                        "on the majority side a child never runs twice",
                        id.clone(),
                        other,
                    ));
                }
            }
            for name in s.singletons.keys() {
                if let Some(other) = singletons.insert(name, i) {
                    broken = Some((
                        i,
                        "on the majority side a singleton never runs twice",
                        name.clone(),
                        other,
                    ));
                }
            }
        }
        if let Some((i, rule, what, other)) = broken {
            let detail = format!(
                "{what} runs on {} and on {}",
                self.nodes[i].name, self.nodes[other].name
            );
            self.violate(i, rule, detail);
        }
    }
}
