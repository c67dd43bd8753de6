//! The distributed supervisor's decisions (ARCHITECTURE section 7), sans-io: from one node's
//! replica of the child table, the live view, the split-brain verdict and the instances this
//! node runs, decide what to start, stop, hand off and take over. shoal-node's manager task
//! performs the [`Action`]s on real actors; shoal-sim performs them on simulated ones.
//!
//! # Rules
//! - A node runs exactly the children its replica says it owns, unless it is isolated (or
//!   draining), then it runs none.
//! - A child moving here with its state (`handoff_from` set) starts once the state arrived
//!   or the old owner is no longer live; any other child starts once no other node's
//!   instance holds its name.
//! - A child whose owner is not live is taken over by the owner placement picks among the
//!   live members, computed alike on every node, but only when the side keeps running with
//!   the view it has now (the verdict is for that very view) and no member joined recently.
//! - Rebalancing (when on) follows joins only: after a member life joined the view, the
//!   oldest member moves the children placement now gives to another node, with their
//!   state; but only children that run settled on a live owner (a lost owner's children
//!   are taken over, a moving child finishes its move first). A view that only lost
//!   members moves nothing.
//! - A move (migrate, rebalance, leave) is one write that can lose to a concurrent one. The
//!   node that hands the state over decides which move happens: it sends the state to the
//!   target of the move it saw, and puts that move back over any other move of the child
//!   from it that wins the merge later. The node whose instance started from a state
//!   handed over by node F puts its settled record back over any later write that says
//!   the child moves from F (such a write was made without seeing the move that happened).
//! - A child that stops is restarted on its owner as its restart type and intensity say; a
//!   failover counts as a restart; a temporary child is not restarted, not even elsewhere.
//!
//! The driver calls [`ChildManager::reconcile`] whenever the table, the view or the verdict
//! changes, when a handed-over state arrives, and on a timer while children wait; it reports
//! each start with [`ChildManager::started`] or [`ChildManager::start_failed`], and each
//! exit of an instance with [`ChildManager::handle_exit`].

use std::collections::{BTreeMap, BTreeSet};

use crate::actor_wire::{ExitReason, Pid};
use crate::children::{ChildRecord, ChildSpec, ChildTable, Restart, StartKind};
use crate::leader::{Growth, SETTLE_AFTER_GROWTH_MS};
use crate::member::Member;
use crate::node_id::{NodeId, NodeName};
use crate::placement::{Candidate, Placement, PlacementError};
use crate::split_brain::Verdict;

mod current;
mod moves;

pub use self::current::{NotCurrent, table_current};
pub use self::moves::{Move, MoveError, MoveOutcome, migrate};

/// How long a new owner waits for a handed-over state while the old owner lives. The old
/// instance stops (and drops its name) before its state leaves, so once the wait is over
/// and nobody holds the name, starting without the state cannot make a second instance.
/// This covers a state lost on a link that broke while it was on its way.
pub const HANDOFF_TIMEOUT_MS: u64 = 5000;

/// A child instance this node runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// The running actor.
    pub pid: Pid,
    /// The factory it came from (for taking its state on a handoff).
    pub factory: String,
}

/// What the node sees now.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// Wall-clock milliseconds (restart times are replicated, so every node must use the same
    /// clock; the simulator passes virtual time).
    pub now_ms: u64,
    /// The live members, this node included.
    pub live: &'a [&'a Member],
    /// The split-brain verdict.
    pub verdict: &'a Verdict,
}

/// What the decisions ask of the node around them.
pub trait Host {
    /// The node whose actor holds the registered name `id`, if any.
    fn name_holder(&self, id: &str) -> Option<NodeName>;
    /// Whether the state of child `id`, handed over to this node, arrived.
    fn has_handoff(&self, id: &str) -> bool;
    /// The custom placement strategy registered under `name`.
    fn custom_placement(&self, name: &str) -> Option<&dyn Placement>;
}

/// What the driver must do, in order: stops, then handoffs, then starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Stop this instance with `Shutdown`: this node does not own the child (any more).
    Stop {
        /// The child id.
        id: String,
        /// The instance.
        pid: Pid,
    },
    /// Take the instance's state (if its factory can), stop it, wait until it is gone, then
    /// send the state to `to` in a `ChildFrame::Handoff`.
    HandOff {
        /// The child id.
        id: String,
        /// The instance.
        instance: Instance,
        /// The new owner.
        to: NodeName,
    },
    /// Start the child here: from the handed-over state if `handoff_from` is set and the state
    /// arrived, register it under its id, then report [`ChildManager::started`] (or
    /// [`ChildManager::start_failed`] if the factory refused; nothing if the name is taken).
    Start {
        /// The child id.
        id: String,
        /// Its spec.
        spec: ChildSpec,
        /// The node it moves from with its state, if it does.
        handoff_from: Option<NodeName>,
    },
}

/// What one look goes by.
#[derive(Clone, Copy, Debug)]
struct Look {
    now_ms: u64,
    /// Run nothing (isolated by the resolver, or draining).
    isolated: bool,
    /// Start nothing yet: this node left isolation less than a settle period ago, or first
    /// saw a peer less than that ago and has not yet merged every live peer's table. The
    /// table it holds may still be the one from before the partition, or one that a peer
    /// just back from isolation gave it.
    rejoining: bool,
    may_take_over: bool,
}

/// One look at the table, before acting.
#[derive(Debug, Default)]
struct Plan {
    start: Vec<String>,
    stop: Vec<String>,
    hand_off: Vec<String>,
    take_over: Vec<String>,
    /// Children moving away from here that no instance here can hand over.
    release: Vec<String>,
    /// Children said to move from here to one node whose state went to another (live)
    /// one: the move that happened is put back.
    redirect: Vec<(String, NodeName)>,
    /// Children running here from a handed-over state whose record says they move from
    /// the node that handed it over: the settled record is put back.
    reclaim: Vec<String>,
}

/// One node's supervisor decisions and the instances it runs. See the module doc.
#[derive(Debug)]
pub struct ChildManager {
    local: NodeName,
    rebalance: bool,
    running: BTreeMap<String, Instance>,
    /// Children whose state this node handed over (or is handing over), and to whom, until
    /// the table says this node owns them again.
    handed_off: BTreeMap<String, NodeName>,
    /// Children whose instance here started from a state handed over by that node, with
    /// the start count the start recorded.
    handed_here: BTreeMap<String, (NodeName, u32)>,
    /// When this node was last seen isolated.
    isolated_at_ms: Option<u64>,
    /// When this life first saw a peer (its table came from peers from then on).
    joined_at_ms: Option<u64>,
    /// Every member this life has seen live. Only their children are ours to take over: a
    /// node that joined a side after the partition never saw the other side, and its view
    /// would call the other side's members lost though they run on.
    known: BTreeSet<NodeName>,
    /// Children moving here, and since when this node waits for their state.
    awaiting: BTreeMap<String, u64>,
    growth: Growth,
    draining: bool,
    /// The member lives of the last view seen: a life not in it joined.
    lives: BTreeSet<NodeId>,
    /// A member life joined since the last rebalancing (which waits until this node may
    /// act on its view: a side back from isolation sees its peers join again, though
    /// their lives may be the ones it balanced for before the partition).
    join_pending: bool,
}

impl ChildManager {
    /// The manager of node `local`; `rebalance` moves children to newcomers after a join.
    pub fn new(local: NodeName, rebalance: bool) -> Self {
        Self {
            local,
            rebalance,
            running: BTreeMap::new(),
            handed_off: BTreeMap::new(),
            handed_here: BTreeMap::new(),
            awaiting: BTreeMap::new(),
            isolated_at_ms: None,
            joined_at_ms: None,
            known: BTreeSet::new(),
            growth: Growth::new(SETTLE_AFTER_GROWTH_MS),
            draining: false,
            lives: BTreeSet::new(),
            join_pending: false,
        }
    }

    /// The instances this node runs, by child id.
    pub fn running(&self) -> &BTreeMap<String, Instance> {
        &self.running
    }

    /// Whether this node drains (it starts and takes over nothing any more).
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// Whether to keep the state of child `id` that arrived at `arrived_ms`: while the table
    /// says it moves here, or for [`HANDOFF_TIMEOUT_MS`] after it came (it may overtake the
    /// table write that moves the child here). Drop the others: the child moved on.
    pub fn keeps_handoff(&self, table: &ChildTable, id: &str, arrived_ms: u64, now_ms: u64) -> bool {
        let awaited = table
            .get(id)
            .is_some_and(|r| r.owner == self.local && r.handoff_from.is_some());
        awaited || now_ms.saturating_sub(arrived_ms) < HANDOFF_TIMEOUT_MS
    }

    /// One look at the table: what to do so this node runs what it should. Claims of lost
    /// members' children and rebalancing moves are written to `table` here.
    pub fn reconcile(&mut self, table: &mut ChildTable, view: &View<'_>, host: &dyn Host) -> Vec<Action> {
        let live: BTreeSet<NodeName> = view.live.iter().map(|m| m.id.name.clone()).collect();
        let look = self.look(table, view, &live);
        let local = &self.local;
        self.handed_off
            .retain(|id, _| table.get(id).is_some_and(|r| r.owner != *local));
        let running = &self.running;
        self.handed_here.retain(|id, _| running.contains_key(id));
        self.awaiting.retain(|id, _| {
            table
                .get(id)
                .is_some_and(|r| r.owner == *local && r.handoff_from.is_some())
        });
        for r in table
            .children()
            .filter(|r| r.owner == *local && r.handoff_from.is_some())
        {
            self.awaiting.entry(r.spec.id.clone()).or_insert(view.now_ms);
        }
        let plan = self.plan(table, &live, look, host);
        self.release(table, &plan.release);
        self.redirect(table, &plan.redirect);
        self.reclaim(table, &plan.reclaim);
        let mut actions = Vec::new();
        for id in plan.stop {
            if let Some(instance) = self.running.remove(&id) {
                actions.push(Action::Stop {
                    id,
                    pid: instance.pid,
                });
            }
        }
        for id in plan.hand_off {
            let to = table.get(&id).map(|r| r.owner.clone());
            if let (Some(instance), Some(to)) = (self.running.remove(&id), to) {
                self.handed_off.insert(id.clone(), to.clone());
                actions.push(Action::HandOff { id, instance, to });
            }
        }
        let mut start = plan.start;
        start.extend(self.take_over(table, view, &plan.take_over, host));
        for id in start {
            if let Some(r) = table.get(&id) {
                actions.push(Action::Start {
                    spec: r.spec.clone(),
                    handoff_from: r.handoff_from.clone(),
                    id,
                });
            }
        }
        let lives: BTreeSet<NodeId> = view.live.iter().map(|m| m.id.clone()).collect();
        self.join_pending |= lives.iter().any(|l| !self.lives.contains(l));
        self.lives = lives;
        if self.rebalance && look.may_take_over && self.join_pending {
            self.rebalance(table, view, &live, host);
            self.join_pending = false;
        }
        actions
    }

    /// Notes what this view teaches (isolation, first peer, members seen) and sums up what
    /// this look may do.
    fn look(&mut self, table: &ChildTable, view: &View<'_>, live: &BTreeSet<NodeName>) -> Look {
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

    /// Child `id` runs here now as `instance`; `state_arrived` says whether a handed-over
    /// state came for it. Records the start in the table.
    pub fn started(&mut self, table: &mut ChildTable, id: &str, instance: Instance, state_arrived: bool) {
        if let Some(mut r) = table.get(id).cloned() {
            let kind = match (r.handoff_from.take(), state_arrived) {
                (Some(from), true) => StartKind::HandedOff { from },
                (Some(from), false) => StartKind::HandoffLost { from },
                // Not the first start, no state handed over, and no decision here said why
                // (a restart or a take-over would have written it): the previous instance ran
                // in a process that is gone, typically an earlier life of this node's name
                // whose records this process inherited. Whatever the record said of that
                // instance ("handed off, state kept"), this one starts from its spec.
                (None, _) if r.starts > 0 && r.last_start.kept_state() => StartKind::FailedOver {
                    from: r.owner.clone(),
                },
                (None, _) => r.last_start.clone(),
            };
            r.starts += 1;
            match &kind {
                StartKind::HandedOff { from } => {
                    self.handed_here.insert(id.to_owned(), (from.clone(), r.starts));
                }
                _ => {
                    self.handed_here.remove(id);
                }
            }
            r.last_start = kind;
            table.write(id, Some(r));
        }
        self.running.insert(id.to_owned(), instance);
    }

    /// The state of child `id` could not be sent to its new owner (no link to it): the new
    /// owner starts without it rather than wait.
    pub fn handoff_undelivered(&mut self, table: &mut ChildTable, id: &str) {
        self.handed_off.remove(id);
        if table
            .get(id)
            .is_some_and(|r| r.handoff_from.as_ref() == Some(&self.local))
        {
            self.release(table, &[id.to_owned()]);
        }
    }

    /// The factory of child `id` refused to start it: counts as an exit.
    pub fn start_failed(&mut self, table: &mut ChildTable, id: &str, reason: ExitReason, now_ms: u64) {
        self.restart_or_give_up(table, id, reason, now_ms);
    }

    /// Instance `pid` of child `id` stopped for `reason`. Ignored unless it is the instance
    /// this node runs (one stopped on purpose is not). A loser of a name conflict is not
    /// restarted: the table decides who runs the child.
    pub fn handle_exit(
        &mut self,
        table: &mut ChildTable,
        id: &str,
        pid: &Pid,
        reason: ExitReason,
        now_ms: u64,
    ) {
        if self.running.get(id).is_none_or(|r| r.pid != *pid) {
            return;
        }
        self.running.remove(id);
        if !matches!(reason, ExitReason::NameConflict { .. }) {
            self.restart_or_give_up(table, id, reason, now_ms);
        }
    }

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

    fn plan(&self, table: &ChildTable, live: &BTreeSet<NodeName>, look: Look, host: &dyn Host) -> Plan {
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
    fn release(&self, table: &mut ChildTable, ids: &[String]) {
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
    fn may_start(&self, r: &ChildRecord, live: &BTreeSet<NodeName>, look: &Look, host: &dyn Host) -> bool {
        let name_free = || {
            host.name_holder(&r.spec.id)
                .is_none_or(|holder| holder == self.local)
        };
        match &r.handoff_from {
            Some(from) if *from != self.local => {
                let waited = self
                    .awaiting
                    .get(&r.spec.id)
                    .is_some_and(|since| look.now_ms.saturating_sub(*since) >= HANDOFF_TIMEOUT_MS);
                let from_gone = !live.contains(from) && look.may_take_over && self.known.contains(from);
                host.has_handoff(&r.spec.id) || from_gone || (waited && name_free())
            }
            _ => name_free(),
        }
    }

    /// Claims the children of lost owners that placement gives to this node; returns the
    /// ones to start here. Every survivor computes the same owner, so only one claims each.
    fn take_over(
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

    /// Child `id` stopped for `reason`: removed if its restart type says it is done, given up
    /// if it restarted too often, else marked for a restart here.
    fn restart_or_give_up(&self, table: &mut ChildTable, id: &str, reason: ExitReason, now_ms: u64) {
        let Some(mut r) = table.get(id).cloned() else {
            return;
        };
        if r.owner != self.local || r.failed.is_some() {
            return;
        }
        if finished(r.spec.restart, &reason) {
            table.write(id, None);
            return;
        }
        if r.note_restart(now_ms) {
            r.last_start = StartKind::Restarted { reason };
        } else {
            tracing::error!(child = %id, %reason, "too many restarts; giving the child up");
            r.failed = Some(ExitReason::MaxRestarts);
        }
        table.write(id, Some(r));
    }

    /// The oldest member moves children whose placement now says another node, with their
    /// state; called after a member joined (when rebalancing is on), never for losses
    /// alone. Only children that run settled on a live owner move: a lost owner's children
    /// are take-over's (a move "with its state" from a node that is gone would say the
    /// state was kept when the new owner starts from its spec), and a child already moving
    /// finishes its move first.
    fn rebalance(&self, table: &mut ChildTable, view: &View<'_>, live: &BTreeSet<NodeName>, host: &dyn Host) {
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

/// Whether `reason` ends a child of restart type `restart` for good.
pub fn finished(restart: Restart, reason: &ExitReason) -> bool {
    match restart {
        Restart::Permanent => false,
        Restart::Transient => reason.is_normal(),
        Restart::Temporary => true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
#[path = "child_manager_test.rs"]
mod tests;
