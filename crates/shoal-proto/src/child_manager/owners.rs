//! Who owns a child: placement, the take-over of lost members' children, rebalancing after
//! a join, and the drain of a graceful leave.

use std::collections::BTreeSet;

use super::{Action, ChildManager, Host, View};
use crate::actor_wire::ExitReason;
use crate::children::{ChildRecord, ChildSpec, ChildTable, Restart, StartKind};
use crate::member::Member;
use crate::node_id::NodeName;
use crate::placement::{Candidate, PlacementError};

impl ChildManager {
    /// A graceful leave: every child here moves, with its state, to the owner placement picks
    /// among the other nodes. Afterwards this node starts and takes over nothing.
    pub fn drain(&mut self, table: &mut ChildTable, view: &View<'_>, host: &dyn Host) -> Vec<Action> {
        self.draining = true;
        let ids: Vec<String> = self.running.keys().cloned().collect();
        let mut actions = Vec::new();
        for id in ids {
            let Some(mut r) = table.get(&id).cloned() else {
                continue;
            };
            let Ok(owner) = place(table, &r.spec, view.live, Some(&self.local), host) else {
                continue; // no other eligible node: it stops with this node
            };
            r.owner = owner.clone();
            r.handoff_from = Some(self.local.clone());
            table.write(&id, Some(r));
            if let Some(instance) = self.running.remove(&id) {
                self.handed_off.insert(id.clone(), owner.clone());
                actions.push(Action::HandOff {
                    id,
                    instance,
                    to: owner,
                });
            }
        }
        actions
    }

    /// Gives children placed on this draining node, which run nowhere, to the owner
    /// placement picks among the other nodes: the node that wrote the start did not know
    /// this one is leaving, and this one starts nothing any more.
    pub(super) fn pass_on(&self, table: &mut ChildTable, view: &View<'_>, ids: &[String], host: &dyn Host) {
        for id in ids {
            let Some(mut r) = table.get(id).cloned() else {
                continue;
            };
            let Ok(owner) = place(table, &r.spec, view.live, Some(&self.local), host) else {
                continue; // no other eligible node: it waits for this node's successor
            };
            tracing::info!(child = %id, to = %owner, "leaving: passing on a child placed here");
            r.owner = owner;
            table.write(id, Some(r));
        }
    }

    /// Claims the children of lost owners that placement gives to this node; returns the
    /// ones to start here. Every survivor computes the same owner, so only one claims each.
    pub(super) fn take_over(
        &self,
        table: &mut ChildTable,
        view: &View<'_>,
        ids: &[String],
        host: &dyn Host,
    ) -> Vec<String> {
        let mut claimed = Vec::new();
        for id in ids {
            let Some(mut r) = table.get(id).cloned() else {
                continue;
            };
            if place(table, &r.spec, view.live, None, host).ok().as_ref() != Some(&self.local) {
                continue;
            }
            let from = std::mem::replace(&mut r.owner, self.local.clone());
            r.handoff_from = None;
            if r.spec.restart == Restart::Temporary && r.starts > 0 {
                tracing::info!(child = %id, %from, "temporary child's node went down; not restarted");
                table.write(id, None);
            } else if r.starts > 0 && !r.note_restart(view.now_ms) {
                tracing::error!(child = %id, %from, "too many restarts; giving the child up");
                r.failed = Some(ExitReason::MaxRestarts);
                table.write(id, Some(r));
            } else {
                tracing::info!(child = %id, %from, "taking over the child of a lost node");
                if r.starts > 0 {
                    r.last_start = StartKind::FailedOver { from };
                }
                table.write(id, Some(r));
                claimed.push(id.clone());
            }
        }
        claimed
    }

    /// The oldest member moves children whose placement now says another node, with their
    /// state; called after a member joined (when rebalancing is on), never for losses
    /// alone. Only children that run settled on a live owner move: a lost owner's children
    /// are take-over's (a move "with its state" from a node that is gone would say the
    /// state was kept when the new owner starts from its spec), and a child already moving
    /// finishes its move first.
    pub(super) fn rebalance(
        &self,
        table: &mut ChildTable,
        view: &View<'_>,
        live: &BTreeSet<NodeName>,
        host: &dyn Host,
    ) {
        let leader = crate::leader::oldest(view.live.iter().copied(), None);
        if leader.is_none_or(|l| l.id.name != self.local) {
            return;
        }
        let records: Vec<ChildRecord> = table
            .children()
            .filter(|r| r.failed.is_none() && r.handoff_from.is_none() && live.contains(&r.owner))
            .cloned()
            .collect();
        let mut moved = 0;
        for mut r in records {
            let Ok(owner) = place(table, &r.spec, view.live, None, host) else {
                continue;
            };
            if owner != r.owner {
                r.handoff_from = Some(std::mem::replace(&mut r.owner, owner));
                table.write(&r.spec.id.clone(), Some(r));
                moved += 1;
            }
        }
        if moved > 0 {
            tracing::info!(moved, "rebalancing children after a join");
        }
    }
}

/// The owner placement picks for `spec` among the `live` members (`except` left out), with
/// each node's load taken from `table`. The child's own record does not count in its
/// owner's load, so it only moves for a real imbalance.
pub fn place(
    table: &ChildTable,
    spec: &ChildSpec,
    live: &[&Member],
    except: Option<&NodeName>,
    host: &dyn Host,
) -> Result<NodeName, PlacementError> {
    let mut loads = table.loads();
    if let Some(current) = table.get(&spec.id).filter(|r| r.failed.is_none())
        && let Some(load) = loads.get_mut(&current.owner)
    {
        *load = load.saturating_sub(1);
    }
    let candidates: Vec<Candidate<'_>> = live
        .iter()
        .filter(|m| Some(&m.id.name) != except)
        .map(|m| Candidate {
            name: &m.id.name,
            roles: &m.roles,
            load: loads.get(&m.id.name).copied().unwrap_or(0),
        })
        .collect();
    crate::placement::place(&spec.placement, &spec.id, &candidates, |name| {
        host.custom_placement(name)
    })
}
