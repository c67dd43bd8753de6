//! The distributed supervisor's decisions, sans-io: from one node's replica of the child table,
//! the live view, the split-brain verdict and the instances this node runs, decide what to
//! start, stop, hand off and take over. shoal-node's manager task performs the [`Action`]s on
//! real actors; shoal-sim performs them on simulated ones.
//!
//! # Rules
//! - A child is specified ([`start`]) only from a node the verdict does not isolate, under an
//!   id that no child of the replica has and no actor holds as a name, owned by the node
//!   placement picks; [`terminate`] removes it for good (a tombstone).
//! - A node runs exactly the children its replica says it owns, unless it is isolated (or
//!   draining), then it runs none.
//! - A child starts only once no other node's instance holds its name (in this node's
//!   registry replica); one moving here with its state (`handoff_from` set) also waits
//!   until the state arrived or the old owner is no longer live.
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
//!
//! # Files
//! [`ChildManager`] and its look ([`ChildManager::reconcile`]) live here; its parts:
//! `host` (what it is given: [`View`], [`Host`]), `action` (what it asks: [`Action`]),
//! `plan` (what one look finds to do), `owners` (placement, take-over, rebalancing, drain),
//! `exits` (starts, exits and restarts), `moves` (the migrate rule and concurrent moves),
//! `start` (the start-child and terminate rules), `current` (whether this replica holds the
//! cluster's table, which a start needs).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::children::{ChildTable, StartKind};
use crate::leader::{Growth, SETTLE_AFTER_GROWTH_MS};
use crate::node_id::{NodeId, NodeName};

mod action;
mod current;
mod exits;
mod host;
mod moves;
mod owners;
mod plan;
mod start;

pub use self::action::{Action, Instance};
pub use self::current::{NotCurrent, table_current};
pub use self::exits::finished;
pub use self::host::{Host, View};
pub use self::moves::{Move, MoveError, MoveOutcome, migrate};
pub use self::owners::place;
pub use self::start::{StartRefused, start, terminate};

/// How long a new owner waits for a handed-over state while the old owner lives. The old
/// instance stops (and drops its name) before its state leaves, so once the wait is over
/// and nobody holds the name, starting without the state cannot make a second instance.
/// This covers a state lost on a link that broke while it was on its way.
pub const HANDOFF_TIMEOUT_MS: u64 = 5000;

/// How often a driver looks again ([`ChildManager::reconcile`]) while its table has
/// children, besides on every change: children wait for a handed-over state, for another
/// node to let go of a name, or for a settle period, which no event announces. shoal-node
/// and the simulator both use this one value.
pub const RECHECK: Duration = Duration::from_millis(250);

/// One node's supervisor decisions and the instances it runs. See the module doc.
#[derive(Debug)]
pub struct ChildManager {
    local: NodeName,
    rebalance: bool,
    running: BTreeMap<String, Instance>,
    /// Children whose state this node handed over (or is handing over), and to whom, until
    /// the table says this node owns them again.
    handed_off: BTreeMap<String, NodeName>,
    /// Children whose instance here started from a handed-over state, with how it started
    /// (a `HandedOff` or `HandedOffAfterLoss`, naming the node) and the start count the
    /// start recorded.
    handed_here: BTreeMap<String, (StartKind, u32)>,
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
        self.pass_on(table, view, &plan.pass_on, host);
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
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
#[path = "child_manager_test.rs"]
mod tests;
