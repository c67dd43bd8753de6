//! Invariants every node must keep at every step. They are checked incrementally: each event a
//! node publishes is checked against that node's event-derived view, and after a batch of
//! events the view is compared with the core's own `members()`.

use std::collections::BTreeMap;

use shoal_proto::{DownReason, Event, NodeId, NodeName};

use super::Sim;
use crate::error::Violation;
use crate::history::{Observed, describe};

impl Sim {
    /// Records an event node `idx` published and checks it against the node's view.
    pub(super) fn observe(&mut self, idx: usize, event: Event) {
        let broken = self.broken_rules(idx, &event);
        let node = &self.nodes[idx];
        let (observer, life, view) = (node.id().clone(), node.life, list(&node.view));
        for rule in broken {
            let detail = format!("{} while its view is {view}", describe(&event));
            self.violate(idx, rule, detail);
        }
        let false_failure = match &event {
            Event::NodeDown {
                id,
                reason: DownReason::Failed | DownReason::Crashed,
            } => self.answers_as(id),
            Event::ActorsDown(id) => self.process_answers(id),
            _ => false,
        };
        let node = &mut self.nodes[idx];
        match &event {
            Event::NodeUp(m) => {
                node.suspects.remove(&m.id);
                node.view.insert(m.id.name.clone(), m.id.clone());
            }
            Event::NodeDown { id, .. } => {
                node.suspects.remove(id);
                if node.view.get(&id.name) == Some(id) {
                    node.view.remove(&id.name);
                }
            }
            Event::NodeSuspect(id) => {
                node.suspects.insert(id.clone());
            }
            Event::Renewed(m) => {
                node.ids.push(m.id.clone());
                let group = node.cookie_group;
                self.groups.insert(m.id.clone(), group);
            }
            Event::NameTaken { .. } | Event::Stalled { .. } | Event::ActorsDown(_) => {}
        }
        tracing::debug!(at = ?self.now, %observer, event = %describe(&event), "membership event");
        self.history.push(Observed {
            at: self.now,
            observer,
            life,
            event,
            false_failure,
        });
    }

    /// The rules `event`, published by node `idx`, breaks given what it published before.
    fn broken_rules(&self, idx: usize, event: &Event) -> Vec<&'static str> {
        let node = &self.nodes[idx];
        let mut broken = Vec::new();
        match event {
            Event::NodeUp(m) => {
                if m.id.name == node.name {
                    broken.push("no node lists itself as a member");
                }
                match self.groups.get(&m.id) {
                    None => broken.push("members are lives of simulated nodes"),
                    Some(&group) if group != node.cookie_group => {
                        broken.push("a live set never holds a node with another cookie");
                    }
                    Some(_) => {}
                }
                // A suspect that is heard from again is announced up again; anything else
                // already listed under this name is a second life.
                match node.view.get(&m.id.name) {
                    Some(listed) if *listed == m.id && node.suspects.contains(&m.id) => {}
                    Some(listed) if *listed == m.id => broken.push("a live member is reported up once"),
                    Some(_) => broken.push("no node lists two lives of one name"),
                    None => {}
                }
            }
            Event::NodeDown { id, .. } => {
                if node.view.get(&id.name) != Some(id) {
                    broken.push("a node reports down only members it reported up");
                }
            }
            Event::Renewed(m) => {
                let last = node.ids.last().map(|id| id.creation);
                if m.id.name != node.name || last.is_some_and(|c| m.id.creation <= c) {
                    broken.push("a renewal keeps the name and raises the creation");
                }
            }
            Event::NodeSuspect(id) => {
                if node.view.get(&id.name) != Some(id) {
                    broken.push("a node suspects only members it lists");
                }
            }
            // Every simulated process has a name of its own; a restart is the same node.
            Event::NameTaken { .. } => broken.push("no node is refused for a taken name"),
            Event::Stalled { .. } => {}
            Event::ActorsDown(id) => {
                if node.view.get(&id.name) == Some(id) {
                    broken.push("actors of a live member are not reported down");
                }
            }
        }
        broken
    }

    /// Checks that node `idx`'s events agree with its core's `members()`, and that the core
    /// does not list the node itself.
    pub(super) fn check_node(&mut self, idx: usize) {
        let node = &self.nodes[idx];
        let from_core: BTreeMap<NodeName, NodeId> = node
            .core
            .members()
            .into_iter()
            .map(|s| (s.member.id.name.clone(), s.member.id))
            .collect();
        if from_core.contains_key(&node.name) {
            let detail = list(&from_core);
            self.violate(idx, "no node lists itself as a member", detail);
        } else if from_core != node.view {
            let detail = format!(
                "members() {} but events say {}",
                list(&from_core),
                list(&node.view)
            );
            self.violate(idx, "a node's events agree with its members()", detail);
        }
    }

    /// Whether `id` is the current life of a running node.
    /// Whether a running, unpaused process answers as `id` (one paused lately may rightly
    /// have been declared down).
    fn answers_as(&self, id: &NodeId) -> bool {
        self.by_name
            .get(&id.name)
            .is_some_and(|&i| self.nodes[i].is_alive() && self.nodes[i].id() == id && !self.paused_lately(i))
    }

    /// Whether the process that had life `id` runs, unpaused, under that life or a newer one.
    fn process_answers(&self, id: &NodeId) -> bool {
        self.by_name.get(&id.name).is_some_and(|&i| {
            let node = &self.nodes[i];
            let this_process = id.creation >= node.core.local().process;
            node.is_alive() && this_process && node.ids.contains(id) && !self.paused_lately(i)
        })
    }

    pub(super) fn violate(&mut self, idx: usize, rule: &'static str, detail: String) {
        let node = self.nodes[idx].id().to_string();
        self.violations.push(Violation {
            at: self.now,
            node,
            rule,
            detail,
        });
    }
}

fn list(view: &BTreeMap<NodeName, NodeId>) -> String {
    let ids: Vec<String> = view.values().map(ToString::to_string).collect();
    format!("[{}]", ids.join(", "))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use shoal_proto::Member;

    use super::*;
    use crate::config::SimConfig;

    /// Two nodes that know each other, plus a stranger.
    fn sim() -> Sim {
        let mut sim = Sim::new(7, SimConfig::lan());
        sim.add_node("a", &[]).unwrap();
        sim.add_node("b", &["a"]).unwrap();
        sim.add_stranger("x", &["a"]).unwrap();
        assert!(
            sim.run_until(
                Sim::is_converged,
                Duration::from_millis(10),
                Duration::from_secs(5)
            )
            .unwrap()
        );
        sim
    }

    fn member_of(sim: &Sim, name: &str) -> Member {
        let core = sim.membership(name).unwrap();
        core.local().clone()
    }

    fn rules(sim: &mut Sim) -> Vec<&'static str> {
        sim.violations.drain(..).map(|v| v.rule).collect()
    }

    #[test]
    fn a_node_listing_itself_breaks_a_rule() {
        let mut sim = sim();
        let me = member_of(&sim, "a");
        sim.observe(0, Event::NodeUp(me));
        assert!(rules(&mut sim).contains(&"no node lists itself as a member"));
    }

    #[test]
    fn a_second_life_without_the_first_going_down_breaks_a_rule() {
        let mut sim = sim();
        let mut b = member_of(&sim, "b");
        b.id.creation.0 += 1;
        sim.groups.insert(b.id.clone(), 0);
        sim.observe(0, Event::NodeUp(b));
        assert_eq!(rules(&mut sim), vec!["no node lists two lives of one name"]);
    }

    #[test]
    fn up_twice_without_a_suspicion_breaks_a_rule_and_after_one_does_not() {
        let mut sim = sim();
        let b = member_of(&sim, "b");
        sim.observe(0, Event::NodeUp(b.clone()));
        assert_eq!(rules(&mut sim), vec!["a live member is reported up once"]);
        sim.observe(0, Event::NodeSuspect(b.id.clone()));
        sim.observe(0, Event::NodeUp(b));
        assert!(rules(&mut sim).is_empty());
    }

    #[test]
    fn a_member_with_another_cookie_breaks_a_rule() {
        let mut sim = sim();
        let x = member_of(&sim, "x");
        sim.observe(0, Event::NodeUp(x));
        assert_eq!(
            rules(&mut sim),
            vec!["a live set never holds a node with another cookie"]
        );
    }

    #[test]
    fn down_for_a_member_never_up_breaks_a_rule_and_a_false_failure_is_marked() {
        let mut sim = sim();
        let x = member_of(&sim, "x");
        sim.observe(
            0,
            Event::NodeDown {
                id: x.id,
                reason: DownReason::Failed,
            },
        );
        assert_eq!(
            rules(&mut sim),
            vec!["a node reports down only members it reported up"]
        );
        assert_eq!(
            sim.history().false_failure_count(),
            1,
            "x runs, so Failed was false"
        );
    }

    #[test]
    fn events_that_disagree_with_members_break_a_rule() {
        let mut sim = sim();
        let b = member_of(&sim, "b");
        sim.nodes[0].view.remove(b.name());
        sim.check_node(0);
        assert_eq!(rules(&mut sim), vec!["a node's events agree with its members()"]);
    }
}
