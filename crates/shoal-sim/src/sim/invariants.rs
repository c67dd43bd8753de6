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
        let false_failure =
            matches!(&event, Event::NodeDown { id, reason: DownReason::Failed } if self.runs_as(id));
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
    fn runs_as(&self, id: &NodeId) -> bool {
        self.by_name
            .get(&id.name)
            .is_some_and(|&i| self.nodes[i].is_alive() && self.nodes[i].id() == id)
    }

    fn violate(&mut self, idx: usize, rule: &'static str, detail: String) {
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
