//! Each simulated node's distributed supervisor and singletons, driven the way shoal-node
//! drives them: the real [`ChildManager`] decisions and [`ChildTable`] replica, the real
//! split-brain [`Resolver`] (keep-majority), and the real singleton rule, on the virtual clock.
//! Child instances are simulated actors: a pid, registered under the child id in the node's
//! registry replica, carrying a count that travels with handoffs.
//!
//! The driver looks again after every membership change, table or registry frame, arrived
//! state and instance exit, and every [`RECHECK`] while the node has children or singletons;
//! it sends its table digest every [`DIGEST_INTERVAL`] (both shoal-proto's, which
//! shoal-node uses too).

use std::collections::BTreeMap;
use std::time::Duration;

use shoal_proto::child_manager::{
    self, Action, ChildManager, Host, Move, MoveError, MoveOutcome, RECHECK, StartRefused, View,
};
use shoal_proto::children::{ChildFrame, ChildOutput, ChildRecord, ChildSpec, ChildTable, DIGEST_INTERVAL};
use shoal_proto::leader::{Growth, SETTLE_AFTER_GROWTH_MS, SingletonLook, SingletonStep};
use shoal_proto::lease::Lease;
use shoal_proto::placement::Placement;
use shoal_proto::split_brain::{Resolver, STABLE_AFTER, Strategy};
use shoal_proto::{ConnId, ExitReason, LinkMessage, Member, NodeId, NodeName, Pid, Registry};

use super::Sim;
use super::queue::{SimEvent, Target};
use crate::error::SimError;

/// Simulated child actors get ids from here up (test actors use small ids).
const FIRST_CHILD_ACTOR: u64 = 1 << 32;

/// A state handed over to a node: the node that sent it, the state, when it came (ms).
type Handed = (NodeName, Option<bytes::Bytes>, u64);

/// The supervisor half of a simulated node (a restart starts a fresh one).
#[derive(Debug)]
pub(crate) struct Supervision {
    pub(crate) table: ChildTable,
    pub(crate) manager: ChildManager,
    pub(crate) resolver: Resolver,
    /// States handed over to this node, by child id: who sent it, the state, when it came.
    handoffs: BTreeMap<String, Handed>,
    /// The child instances that run here: pid and count, by child id.
    pub(crate) instances: BTreeMap<String, (Pid, u64)>,
    /// The singleton instances that run here, by singleton name.
    pub(crate) singletons: BTreeMap<String, Pid>,
    singleton_growth: Growth,
    /// The singleton lease, renewed by every look ([`Lease`]).
    singleton_lease: Lease,
    next_actor: u64,
    /// When the periodic look is due (at most one in the queue).
    recheck_at: Option<Duration>,
    digest_at: Duration,
}

impl Supervision {
    /// The supervision of process `local` (its name and process creation).
    pub(crate) fn new(local: NodeId, now: Duration, rebalance: bool) -> Self {
        Self {
            table: ChildTable::new(local.clone()),
            manager: ChildManager::new(local.name, rebalance),
            resolver: Resolver::new(Strategy::KeepMajority, STABLE_AFTER),
            handoffs: BTreeMap::new(),
            instances: BTreeMap::new(),
            singletons: BTreeMap::new(),
            singleton_growth: Growth::new(SETTLE_AFTER_GROWTH_MS),
            singleton_lease: Lease::renewed_at(now.as_millis() as u64),
            next_actor: FIRST_CHILD_ACTOR,
            recheck_at: None,
            digest_at: now + DIGEST_INTERVAL,
        }
    }
}

/// What the singleton rule needs from one look.
struct Leadership {
    live: std::collections::BTreeSet<NodeName>,
    oldest: Option<NodeName>,
    isolated: bool,
    keeps: bool,
}

/// What the decisions ask of a simulated node.
struct SimHost<'a> {
    registry: &'a Registry,
    handoffs: &'a BTreeMap<String, Handed>,
}

impl Host for SimHost<'_> {
    fn name_holder(&self, id: &str) -> Option<Pid> {
        self.registry.whereis(id).cloned()
    }
    fn has_handoff(&self, id: &str) -> bool {
        self.handoffs.contains_key(id)
    }
    fn custom_placement(&self, _: &str) -> Option<&dyn Placement> {
        None
    }
}

impl Sim {
    /// Starts child `spec` from node `node` by the rule `DistributedSupervisor::start_child`
    /// applies ([`child_manager::start`]), without waiting: the owner it was placed on and
    /// written for, or why the rule refused (the node is isolated or does not hold the
    /// cluster's table yet, the id is a child of its replica or a name an actor holds, or
    /// placement found no owner).
    pub fn start_child(
        &mut self,
        node: &str,
        spec: ChildSpec,
    ) -> Result<Result<NodeName, StartRefused>, SimError> {
        let idx = self.running_index(node)?;
        let n = &mut self.nodes[idx];
        let joining = n.joining.is_joining(n.core.members().len());
        let started = self.decide(idx, |_, table, view, host| {
            child_manager::start(table, spec, view, host, joining)
        });
        self.supervise(idx);
        Ok(started)
    }

    /// Child `id`'s instance on node `node` crashes (an error exit); returns whether one ran.
    pub fn crash_child(&mut self, node: &str, id: &str) -> Result<bool, SimError> {
        let idx = self.running_index(node)?;
        let Some((pid, _)) = self.nodes[idx].supervision.instances.remove(id) else {
            return Ok(false);
        };
        self.nodes[idx].registry.unregister_pid(&pid);
        let now_ms = self.now_ms();
        let s = &mut self.nodes[idx].supervision;
        s.manager.handle_exit(
            &mut s.table,
            id,
            &pid,
            ExitReason::Error("crashed".into()),
            now_ms,
        );
        self.supervise(idx);
        Ok(true)
    }

    /// Removes child `id` cluster-wide from node `node` by the rule
    /// `DistributedSupervisor::terminate_child` applies ([`child_manager::terminate`]). Returns whether there was such a child.
    pub fn terminate_child(&mut self, node: &str, id: &str) -> Result<bool, SimError> {
        let idx = self.running_index(node)?;
        let found = child_manager::terminate(&mut self.nodes[idx].supervision.table, id);
        self.supervise(idx);
        Ok(found)
    }

    /// How many tombstones node `node`'s replica holds (`None` if it does not run).
    pub fn child_tombstones(&self, node: &str) -> Option<usize> {
        let idx = self.running_index(node).ok()?;
        Some(self.nodes[idx].supervision.table.tombstones())
    }

    /// Moves child `id` to node `to` with its state from node `node`, by the rule
    /// `DistributedSupervisor::migrate` applies ([`child_manager::migrate`]), without
    /// waiting: the move written (`None` if the child runs on `to` already), or why the
    /// rule refused. Its outcome, once it settles, is [`Move::outcome`] of a replica.
    pub fn migrate_child(
        &mut self,
        node: &str,
        id: &str,
        to: &str,
    ) -> Result<Result<Option<Move>, MoveError>, SimError> {
        let idx = self.running_index(node)?;
        let to = NodeName::new(to).map_err(|_| SimError::UnknownNode(to.to_owned()))?;
        let n = &mut self.nodes[idx];
        let members = n.core.members();
        let local = n.core.local().clone();
        let live = live(&local, &members);
        let moved = child_manager::migrate(&mut n.supervision.table, id, &to, &live);
        self.supervise(idx);
        Ok(moved)
    }

    /// Node `node`'s replica of child `id`'s table record (`None` if the node does not run
    /// or there is no such child).
    pub fn child_record(&self, node: &str, id: &str) -> Option<ChildRecord> {
        let idx = self.running_index(node).ok()?;
        self.nodes[idx].supervision.table.get(id).cloned()
    }

    /// What became of `moved`, as node `node`'s replica says (`None` if it does not run).
    pub fn move_outcome(&self, node: &str, moved: &Move) -> Option<MoveOutcome> {
        let idx = self.running_index(node).ok()?;
        Some(moved.outcome(&self.nodes[idx].supervision.table))
    }

    /// Every node runs a singleton named `name` from now on (and every node started later).
    pub fn add_singleton(&mut self, name: &str) {
        self.singletons.push(name.to_owned());
        for idx in 0..self.nodes.len() {
            self.supervise(idx);
        }
    }

    /// Every running child instance in the cluster: child id to the pids that run it.
    pub fn child_instances(&self) -> BTreeMap<String, Vec<Pid>> {
        let mut all: BTreeMap<String, Vec<Pid>> = BTreeMap::new();
        for n in self.nodes.iter().filter(|n| n.is_alive()) {
            for (id, (pid, _)) in &n.supervision.instances {
                all.entry(id.clone()).or_default().push(pid.clone());
            }
        }
        all
    }

    /// The count a running instance of child `id` carries (handoffs keep it; a restart
    /// without state starts it at zero). Each instance adds one when it starts.
    pub fn child_count(&self, id: &str) -> Option<u64> {
        self.nodes
            .iter()
            .filter(|n| n.is_alive())
            .find_map(|n| n.supervision.instances.get(id).map(|(_, count)| *count))
    }

    /// Node `node`'s replica of the child table, by id (`None` if it does not run).
    pub fn child_table(&self, node: &str) -> Option<Vec<ChildRecord>> {
        let idx = self.running_index(node).ok()?;
        Some(self.nodes[idx].supervision.table.children().cloned().collect())
    }

    /// The digest of node `node`'s child table (`None` if it does not run).
    pub fn child_digest(&self, node: &str) -> Option<u64> {
        let idx = self.running_index(node).ok()?;
        Some(self.nodes[idx].supervision.table.digest())
    }

    /// Every running instance of singleton `name`.
    pub fn singleton_instances(&self, name: &str) -> Vec<Pid> {
        self.nodes
            .iter()
            .filter(|n| n.is_alive())
            .filter_map(|n| n.supervision.singletons.get(name).cloned())
            .collect()
    }

    /// Whether node `node`'s resolver isolated it.
    pub fn is_isolated(&self, node: &str) -> Option<bool> {
        let idx = self.running_index(node).ok()?;
        Some(self.nodes[idx].supervision.resolver.is_isolated())
    }

    /// A graceful leave drains first: node `idx` hands every child it runs to another node.
    pub(super) fn drain(&mut self, idx: usize) {
        let actions = self.decide(idx, |manager, table, view, host| manager.drain(table, view, host));
        self.perform(idx, actions);
    }

    /// Feeds node `idx`'s resolver the live view, then runs `decide` on its manager with its
    /// table, the view and verdict as they are now, and the node as its host.
    fn decide<T>(
        &mut self,
        idx: usize,
        decide: impl FnOnce(&mut ChildManager, &mut ChildTable, &View<'_>, &SimHost<'_>) -> T,
    ) -> T {
        let now_ms = self.now_ms();
        let instant = self.instant();
        let n = &mut self.nodes[idx];
        let members = n.core.members();
        let local = n.core.local().clone();
        let live = live(&local, &members);
        let s = &mut n.supervision;
        s.resolver.handle_view(instant, &live);
        let verdict = s.resolver.verdict();
        let view = View {
            now_ms,
            live: &live,
            verdict: &verdict,
        };
        let host = SimHost {
            registry: &n.registry,
            handoffs: &s.handoffs,
        };
        decide(&mut s.manager, &mut s.table, &view, &host)
    }

    /// A child-table frame (or a handed-over state) arrived at node `idx` from life `from`.
    pub(super) fn on_children_frame(&mut self, idx: usize, from: Target, frame: ChildFrame) {
        if !self.nodes[from.node].is(from) {
            return;
        }
        match frame {
            ChildFrame::Handoff { id, state } => {
                let now_ms = self.now_ms();
                let sender = self.nodes[from.node].core.local().name().clone();
                self.nodes[idx]
                    .supervision
                    .handoffs
                    .insert(id, (sender, state, now_ms));
            }
            frame => {
                let sender = self.nodes[from.node].core.local().id.clone();
                self.nodes[idx].supervision.table.handle_frame(&sender, frame);
            }
        }
        self.supervise(idx);
    }

    /// The routes of node `idx` changed from `routed`: the processes no route leads to any
    /// more are down for the child table, and links to `added` peers came up (compare
    /// child tables).
    pub(super) fn children_peers_changed(
        &mut self,
        idx: usize,
        routed: &[(NodeId, ConnId)],
        added: &[NodeId],
    ) {
        let node = &mut self.nodes[idx];
        for (old, _) in routed {
            if !node.registry_routes.iter().any(|(id, _)| id == old) {
                node.supervision.table.handle_peer_down(old);
            }
        }
        for peer in added {
            node.supervision.table.handle_peer_up(peer.clone());
        }
    }

    /// The periodic look (or a kick) of node life `target`.
    pub(super) fn on_supervise(&mut self, target: Target, periodic: bool) {
        let node = &mut self.nodes[target.node];
        if !node.is(target) {
            return;
        }
        if periodic {
            if node.supervision.recheck_at != Some(self.now) {
                return; // superseded
            }
            node.supervision.recheck_at = None;
        }
        let tick = self.now >= node.supervision.digest_at;
        if tick {
            node.supervision.digest_at = self.now + DIGEST_INTERVAL;
            let now_ms = self.now_ms();
            self.nodes[target.node].supervision.table.handle_tick(now_ms);
        }
        self.supervise(target.node);
    }

    /// One look of node `idx`: feed the resolver, run the supervisor's decisions and the
    /// singleton rule, perform what they ask, and send what the table queued.
    pub(super) fn supervise(&mut self, idx: usize) {
        if !self.nodes[idx].is_alive() {
            return;
        }
        let (actions, leader) = self.decide(idx, |manager, table, view, host| {
            let actions = manager.reconcile(table, view, host);
            let leader = Leadership {
                live: view.live.iter().map(|m| m.id.name.clone()).collect(),
                oldest: shoal_proto::leader::oldest(view.live.iter().copied(), None)
                    .map(|m| m.id.name.clone()),
                isolated: view.verdict.isolated,
                keeps: view
                    .verdict
                    .keeps_view(&view.live.iter().map(|m| m.id.name.clone()).collect()),
            };
            (actions, leader)
        });
        let now_ms = self.now_ms();
        let s = &mut self.nodes[idx].supervision;
        let (table, manager) = (&s.table, &s.manager);
        s.handoffs
            .retain(|id, (_, _, arrived)| manager.keeps_handoff(table, id, *arrived, now_ms));
        self.perform(idx, actions);
        self.singletons_look(idx, &leader);
        self.flush_children(idx);
        self.schedule_recheck(idx);
    }

    /// Performs the manager's actions on node `idx`: stops, handoffs, then starts.
    fn perform(&mut self, idx: usize, actions: Vec<Action>) {
        if !actions.is_empty() {
            tracing::debug!(at = ?self.now, node = %self.nodes[idx].name, ?actions, "supervisor actions");
        }
        let mut started = Vec::new();
        for action in actions {
            match action {
                Action::Stop { id, pid } => self.stop_instance(idx, &id, &pid),
                Action::HandOff { id, instance, to } => {
                    let count = self.nodes[idx].supervision.instances.get(&id).map(|(_, c)| *c);
                    self.stop_instance(idx, &id, &instance.pid);
                    // The table's write and the dropped name go out before the state.
                    self.flush_children(idx);
                    self.flush_registry(idx);
                    let state = count.map(|c| bytes::Bytes::copy_from_slice(&c.to_le_bytes()));
                    let frame = ChildFrame::Handoff {
                        id: id.clone(),
                        state,
                    };
                    if !self.send_children(idx, Some(&to), frame) {
                        let s = &mut self.nodes[idx].supervision;
                        s.manager.handoff_undelivered(&mut s.table, &id);
                    }
                }
                Action::Start { id, handoff_from, .. } => {
                    if let Some(start) = self.start_instance(idx, &id, handoff_from.is_some()) {
                        started.push(start);
                    }
                }
            }
        }
        let s = &mut self.nodes[idx].supervision;
        for (id, instance, handed_from) in started {
            s.manager.started(&mut s.table, &id, instance, handed_from);
        }
    }

    /// Starts child `id` on node `idx` (from its handed-over count if `moving` and it came),
    /// registered under its id. `None` if another instance holds the name; the count is
    /// then left for the next try, as shoal-node leaves the state.
    fn start_instance(
        &mut self,
        idx: usize,
        id: &str,
        moving: bool,
    ) -> Option<(String, child_manager::Instance, Option<NodeName>)> {
        let now_us = self.now.as_micros() as u64;
        let n = &mut self.nodes[idx];
        let handed = if moving {
            n.supervision.handoffs.get(id).cloned()
        } else {
            None
        };
        let (handed_from, state) = handed.map(|(from, state, _)| (from, state)).unzip();
        let count = state
            .flatten()
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map_or(0, u64::from_le_bytes);
        n.supervision.next_actor += 1;
        let pid = Pid::new(n.core.local().process_id(), n.supervision.next_actor);
        n.registry.register(id, pid.clone(), now_us).ok()?;
        n.supervision.handoffs.remove(id);
        n.supervision
            .instances
            .insert(id.to_owned(), (pid.clone(), count + 1));
        let instance = child_manager::Instance {
            pid,
            factory: "sim".into(),
        };
        Some((id.to_owned(), instance, handed_from))
    }

    /// Stops instance `pid` of child `id` on node `idx`; its name goes.
    fn stop_instance(&mut self, idx: usize, id: &str, pid: &Pid) {
        let s = &mut self.nodes[idx].supervision;
        if s.instances.get(id).is_some_and(|(p, _)| p == pid) {
            s.instances.remove(id);
        }
        self.nodes[idx].registry.unregister_pid(pid);
    }

    /// The singleton rule for every singleton on node `idx`.
    fn singletons_look(&mut self, idx: usize, leader: &Leadership) {
        let now_ms = self.now_ms();
        let now_us = self.now.as_micros() as u64;
        let names = self.singletons.clone();
        let n = &mut self.nodes[idx];
        let local = n.core.local().id.name.clone();
        let process = n.core.local().process_id();
        let lapsed = n.supervision.singleton_lease.renew(now_ms);
        if lapsed {
            n.supervision.singleton_growth.restart(now_ms);
        }
        let settled = n.supervision.singleton_growth.settled(now_ms, &leader.live);
        let leads = leader.oldest.as_ref() == Some(&local);
        for name in names {
            let here = n.supervision.singletons.get(&name).cloned();
            let held_elsewhere = SingletonLook::held_elsewhere(n.registry.whereis(&name), &process);
            let look = SingletonLook {
                leads,
                // A draining node is leaving: it runs no singleton either.
                stand_down: leader.isolated || n.supervision.manager.is_draining(),
                keeps: leader.keeps,
                running_here: here.is_some(),
                settled,
                held_elsewhere,
                lapsed,
            };
            match look.step() {
                SingletonStep::Start => {
                    n.supervision.next_actor += 1;
                    let pid = Pid::new(n.core.local().process_id(), n.supervision.next_actor);
                    let registered = n.registry.register(&name, pid.clone(), now_us);
                    tracing::debug!(at = ?self.now, node = %local, singleton = %name, ?registered, "singleton start");
                    if registered.is_ok() {
                        n.supervision.singletons.insert(name, pid);
                    }
                }
                SingletonStep::Stop => {
                    if let Some(pid) = here {
                        tracing::debug!(at = ?self.now, node = %local, singleton = %name, "singleton stop");
                        n.supervision.singletons.remove(&name);
                        n.registry.unregister_pid(&pid);
                    }
                }
                SingletonStep::Keep => {}
            }
        }
        self.flush_registry(idx);
    }

    /// Our registration of a name lost a conflict on node `idx`: its actor stops with
    /// `NameConflict`, as the default policy says.
    pub(super) fn on_name_conflict(&mut self, idx: usize, name: &str, loser: &Pid, winner: Pid) {
        let now_ms = self.now_ms();
        tracing::debug!(at = ?self.now, node = %self.nodes[idx].name, %name, %loser, %winner, "name conflict lost");
        let s = &mut self.nodes[idx].supervision;
        if s.singletons.get(name) == Some(loser) {
            s.singletons.remove(name);
        }
        if s.instances.get(name).is_some_and(|(p, _)| p == loser) {
            s.instances.remove(name);
            let reason = ExitReason::NameConflict { winner };
            s.manager.handle_exit(&mut s.table, name, loser, reason, now_ms);
        }
        let target = self.nodes[idx].target(idx);
        self.queue.push(
            self.now,
            SimEvent::Supervise {
                target,
                periodic: false,
            },
        );
    }

    /// Sends what node `idx`'s table queued over its routes.
    fn flush_children(&mut self, idx: usize) {
        self.nodes[idx].supervision.table.flush();
        while let Some(output) = self.nodes[idx].supervision.table.poll_output() {
            match output {
                ChildOutput::Send { to, frame } => _ = self.send_children(idx, Some(&to.name), frame),
                ChildOutput::Broadcast(frame) => _ = self.send_children(idx, None, frame),
            }
        }
    }

    /// Sends `frame` to the routed peer named `to`, or to every routed peer; returns whether
    /// it went to any.
    fn send_children(&mut self, idx: usize, to: Option<&NodeName>, frame: ChildFrame) -> bool {
        let conns: Vec<_> = self.nodes[idx]
            .registry_routes
            .iter()
            .filter(|(id, _)| to.is_none_or(|name| id.name == *name))
            .map(|(_, c)| *c)
            .collect();
        for &conn in &conns {
            self.send_link(idx, conn, LinkMessage::Children(frame.clone()));
        }
        !conns.is_empty()
    }

    fn schedule_recheck(&mut self, idx: usize) {
        let busy = !self.singletons.is_empty() || !self.nodes[idx].supervision.table.is_empty();
        let s = &mut self.nodes[idx].supervision;
        if !busy || s.recheck_at.is_some() {
            return;
        }
        let at = self.now + RECHECK;
        s.recheck_at = Some(at);
        let target = self.nodes[idx].target(idx);
        self.queue.push(
            at,
            SimEvent::Supervise {
                target,
                periodic: true,
            },
        );
    }

    fn now_ms(&self) -> u64 {
        self.now.as_millis() as u64
    }
}

/// The live members as the node sees them, itself first.
fn live<'a>(local: &'a Member, members: &'a [shoal_proto::MemberStatus]) -> Vec<&'a Member> {
    std::iter::once(local)
        .chain(members.iter().map(|s| &s.member))
        .collect()
}
