//! One look at the table: what this look may do ([`Look`]) and what it finds to do
//! ([`Plan`]), before the manager acts on it.

use std::collections::BTreeSet;

use super::{ChildManager, HANDOFF_TIMEOUT_MS, Host, View};
use crate::children::{ChildRecord, ChildTable, StartKind};
use crate::leader::SETTLE_AFTER_GROWTH_MS;
use crate::node_id::NodeName;

/// What one look goes by.
#[derive(Clone, Copy, Debug)]
pub(super) struct Look {
    pub(super) now_ms: u64,
    /// Run nothing (isolated by the resolver, or draining).
    pub(super) isolated: bool,
    /// Start nothing yet: this node left isolation less than a settle period ago, or first
    /// saw a peer less than that ago and has not yet merged every live peer's table. The
    /// table it holds may still be the one from before the partition, or one that a peer
    /// just back from isolation gave it.
    pub(super) rejoining: bool,
    pub(super) may_take_over: bool,
}

/// One look at the table, before acting.
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub(super) start: Vec<String>,
    pub(super) stop: Vec<String>,
    pub(super) hand_off: Vec<String>,
    pub(super) take_over: Vec<String>,
    /// Children moving away from here that no instance here can hand over.
    pub(super) release: Vec<String>,
    /// Children said to move from here to one node whose state went to another (live)
    /// one: the move that happened is put back.
    pub(super) redirect: Vec<(String, NodeName)>,
    /// Children running here from a handed-over state whose record says they move from
    /// the node that handed it over: the settled record is put back.
    pub(super) reclaim: Vec<String>,
    /// Children placed on this draining node that do not run here and wait for no state
    /// (a start written by a node that did not know it leaves): they go to another owner.
    pub(super) pass_on: Vec<String>,
}

impl ChildManager {
    /// Notes what this view teaches (isolation, first peer, members seen) and sums up what
    /// this look may do.
    pub(super) fn look(&mut self, table: &ChildTable, view: &View<'_>, live: &BTreeSet<NodeName>) -> Look {
        let settled = self.growth.settled(view.now_ms, live);
        let isolated = view.verdict.isolated || self.draining;
        if isolated {
            self.isolated_at_ms = Some(view.now_ms);
        }
        if self.joined_at_ms.is_none() && live.len() > 1 {
            self.joined_at_ms = Some(view.now_ms);
        }
        self.known.extend(live.iter().cloned());
        let recent =
            |at: Option<u64>| at.is_some_and(|at| view.now_ms.saturating_sub(at) < SETTLE_AFTER_GROWTH_MS);
        let synced = live
            .iter()
            .filter(|n| **n != self.local)
            .all(|n| table.has_synced_with(n));
        Look {
            now_ms: view.now_ms,
            isolated,
            rejoining: recent(self.isolated_at_ms) || (recent(self.joined_at_ms) && !synced),
            may_take_over: !isolated && settled && view.verdict.keeps_view(live),
        }
    }

    pub(super) fn plan(
        &self,
        table: &ChildTable,
        live: &BTreeSet<NodeName>,
        look: Look,
        host: &dyn Host,
    ) -> Plan {
        let mut plan = Plan::default();
        // Terminated children (tombstones) still running here stop.
        plan.stop
            .extend(self.running.keys().filter(|id| table.get(id).is_none()).cloned());
        for r in table.children() {
            let id = &r.spec.id;
            let here = self.running.contains_key(id);
            if r.failed.is_some() {
                if here {
                    plan.stop.push(id.clone());
                }
            } else if here && !look.isolated && self.started_from_handoff_by(r) {
                plan.reclaim.push(id.clone());
            } else if r.owner == self.local {
                if look.isolated {
                    if here {
                        plan.stop.push(id.clone());
                    } else if self.draining && r.handoff_from.is_none() {
                        plan.pass_on.push(id.clone());
                    }
                } else if !here && !look.rejoining && self.may_start(r, live, &look, host) {
                    plan.start.push(id.clone());
                }
            } else {
                self.plan_elsewhere(r, here, live, look, &mut plan);
            }
        }
        plan
    }

    /// What to do about `r`, owned by another node (`here`: an instance runs here).
    fn plan_elsewhere(
        &self,
        r: &ChildRecord,
        here: bool,
        live: &BTreeSet<NodeName>,
        look: Look,
        plan: &mut Plan,
    ) {
        let id = &r.spec.id;
        let owner_live = live.contains(&r.owner);
        let moves_from_here = r.handoff_from.as_ref() == Some(&self.local);
        if here && owner_live && moves_from_here {
            plan.hand_off.push(id.clone());
        } else if here {
            plan.stop.push(id.clone());
        } else if owner_live && moves_from_here {
            match self.handed_off.get(id) {
                // Waiting for the state to arrive there.
                Some(to) if *to == r.owner => {}
                // The state went elsewhere: a concurrent move won the merge after it left.
                Some(to) if live.contains(to) => plan.redirect.push((id.clone(), to.clone())),
                // Its instance here crashed, or this is a new life of the node, or the
                // state went to a node that is gone: no state will come, and the new
                // owner must not wait for it.
                _ => plan.release.push(id.clone()),
            }
        }
        if !owner_live && look.may_take_over && self.known.contains(&r.owner) {
            plan.take_over.push(id.clone());
        }
    }

    /// Tells the new owners of `ids` (moving away from here) that no state will come: they
    /// start without it, as after a crash.
    pub(super) fn release(&self, table: &mut ChildTable, ids: &[String]) {
        for id in ids {
            let Some(mut r) = table.get(id).cloned() else {
                continue;
            };
            tracing::info!(child = %id, to = %r.owner, "no instance here to hand over; the new owner starts without state");
            r.handoff_from = None;
            r.last_start = StartKind::HandoffLost {
                from: self.local.clone(),
            };
            table.write(id, Some(r));
        }
    }

    /// Whether this node, the owner, may start `r` now (see the module doc). A child moving
    /// here from a member that is gone starts without its state, but only as a take-over
    /// would: a member declared down may still run it on the other side of a partition.
    ///
    /// Every start waits until no other node's instance holds the name in this replica, a
    /// start from a handed-over state too: the state can come over one link while the
    /// registry delta that drops an earlier owner's name is still on its way over another
    /// (a child moved on the moment it arrived), and a start that finds the name taken
    /// would run nothing.
    fn may_start(&self, r: &ChildRecord, live: &BTreeSet<NodeName>, look: &Look, host: &dyn Host) -> bool {
        let name_free = host
            .name_holder(&r.spec.id)
            .is_none_or(|holder| holder.node.name == self.local);
        match &r.handoff_from {
            Some(from) if *from != self.local => {
                let waited = self
                    .awaiting
                    .get(&r.spec.id)
                    .is_some_and(|since| look.now_ms.saturating_sub(*since) >= HANDOFF_TIMEOUT_MS);
                let from_gone = !live.contains(from) && look.may_take_over && self.known.contains(from);
                name_free && (host.has_handoff(&r.spec.id) || from_gone || waited)
            }
            _ => name_free,
        }
    }
}
