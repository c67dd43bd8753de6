//! The loop that keeps a node's running children in line with the child table: start what
//! it owns, stop or hand off what it no longer owns, take over the children of lost members
//! its side may take, restart children that stop, and drain on a graceful leave.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use shoal_proto::children::{ChildRecord, StartKind};
use shoal_proto::placement::Placement;
use shoal_proto::{ExitReason, NodeName, Pid, RegisterError};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::finished;
use crate::actor::Actors;
use crate::node::Snapshot;
use crate::singleton::Growth;
use crate::split_brain::Verdict;

/// How often the manager looks again while children wait (for a handoff, or for another
/// node to let go of a name).
const RECHECK: Duration = Duration::from_millis(250);

/// How often a node with children sends its table digest to every peer.
const DIGEST_INTERVAL: Duration = Duration::from_secs(2);

/// What the supervisor handle asks of the manager.
#[derive(Debug)]
pub(crate) enum Command {
    /// Look at the table again now.
    Kick,
    /// Hand every child over to other nodes; answer with the ids whose state went out.
    Drain(oneshot::Sender<Vec<String>>),
}

/// Custom placement strategies, by name.
#[derive(Default)]
pub(crate) struct Strategies {
    map: RwLock<HashMap<String, Arc<dyn Placement>>>,
}

impl Strategies {
    pub(crate) fn register(&self, name: String, strategy: Arc<dyn Placement>) {
        self.map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name, strategy);
    }

    pub(crate) fn snapshot(&self) -> HashMap<String, Arc<dyn Placement>> {
        self.map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A child instance that stopped: its id, pid and reason.
type Exit = (String, Pid, ExitReason);

/// A child instance this node runs.
#[derive(Debug)]
struct Running {
    pid: Pid,
    factory: String,
}

/// One node's child manager.
pub(crate) struct Manager {
    actors: Actors,
    snapshot: watch::Receiver<Snapshot>,
    verdict: watch::Receiver<Verdict>,
    commands: mpsc::UnboundedReceiver<Command>,
    strategies: Arc<Strategies>,
    rebalance: bool,
    running: HashMap<String, Running>,
    exits: (mpsc::UnboundedSender<Exit>, mpsc::UnboundedReceiver<Exit>),
    growth: Growth,
    draining: bool,
    /// The view the last rebalancing was for.
    balanced_for: BTreeSet<NodeName>,
}

/// What one look at the table decided.
#[derive(Debug, Default)]
struct Plan {
    start: Vec<String>,
    stop: Vec<String>,
    hand_off: Vec<String>,
    take_over: Vec<String>,
}

impl Manager {
    pub(crate) fn new(
        actors: Actors,
        snapshot: watch::Receiver<Snapshot>,
        verdict: watch::Receiver<Verdict>,
        commands: mpsc::UnboundedReceiver<Command>,
        strategies: Arc<Strategies>,
        rebalance: bool,
    ) -> Self {
        Self {
            actors,
            snapshot,
            verdict,
            commands,
            strategies,
            rebalance,
            running: HashMap::new(),
            exits: mpsc::unbounded_channel(),
            growth: Growth::default(),
            draining: false,
            balanced_for: BTreeSet::new(),
        }
    }

    /// Runs until `cancel`.
    pub(crate) async fn run(mut self, cancel: CancellationToken) {
        let mut changes = self.actors.inner.children.subscribe();
        let mut ticks = tokio::time::interval(RECHECK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut digests = tokio::time::interval(DIGEST_INTERVAL);
        digests.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let actors = self.actors.clone();
        loop {
            let has_children = self.actors.with_children(|t| t.children().next().is_some());
            tokio::select! {
                () = cancel.cancelled() => return,
                changed = changes.changed() => if changed.is_err() { return },
                changed = self.snapshot.changed() => if changed.is_err() { return },
                changed = self.verdict.changed() => if changed.is_err() { return },
                () = actors.inner.children.kick.notified() => {}
                Some(exit) = self.exits.1.recv() => self.on_exit(exit),
                Some(command) = self.commands.recv() => match command {
                    Command::Kick => {}
                    Command::Drain(reply) => {
                        let moved = self.drain().await;
                        let _ = reply.send(moved);
                    }
                },
                _ = ticks.tick(), if has_children => {}
                _ = digests.tick(), if has_children => self.actors.children_tick(),
            }
            self.reconcile().await;
        }
    }

    fn local(&self) -> &NodeName {
        &self.actors.node().name
    }

    /// One look at the table: act on whatever differs from what this node runs.
    async fn reconcile(&mut self) {
        let view = self.snapshot.borrow().clone();
        let verdict = self.verdict.borrow().clone();
        let settled = self.growth.settled(&view);
        let live = crate::split_brain::view(&view);
        let isolated = verdict.isolated || self.draining;
        let may_take_over = !isolated && settled && verdict.keeps && verdict.view == live;
        let records: Vec<ChildRecord> = self.actors.with_children(|t| t.children().cloned().collect());
        let plan = self.plan(&records, &live, isolated, may_take_over);
        let awaited: std::collections::HashSet<&str> = records
            .iter()
            .filter(|r| r.owner == *self.local() && r.handoff_from.is_some())
            .map(|r| r.spec.id.as_str())
            .collect();
        self.actors
            .inner
            .children
            .retain_handoffs(|id| awaited.contains(id));
        for id in &plan.stop {
            if let Some(running) = self.running.remove(id) {
                tracing::info!(child = %id, pid = %running.pid, "stopping the child here: this node does not own it");
                let _ = self.actors.stop(&running.pid, ExitReason::Shutdown);
            }
        }
        self.hand_off(&plan.hand_off).await;
        let mut start = plan.start;
        start.extend(self.take_over(&view, &plan.take_over));
        let started: Vec<(String, StartKind)> = start.iter().filter_map(|id| self.start(id)).collect();
        if !started.is_empty() {
            // One delta for all starts of this pass (a failover starts hundreds at once).
            self.actors.with_children(|t| {
                for (id, kind) in started {
                    if let Some(mut r) = t.get(&id).cloned() {
                        r.starts += 1;
                        r.handoff_from = None;
                        r.last_start = kind;
                        t.write(&id, Some(r));
                    }
                }
            });
        }
        if self.rebalance && may_take_over && self.balanced_for != live {
            self.rebalance(&view);
            self.balanced_for = live;
        }
    }

    fn plan(
        &self,
        records: &[ChildRecord],
        live: &BTreeSet<NodeName>,
        isolated: bool,
        may_take_over: bool,
    ) -> Plan {
        let local = self.local();
        let mut plan = Plan::default();
        let specified: std::collections::HashSet<&str> = records.iter().map(|r| r.spec.id.as_str()).collect();
        // Terminated children (tombstones) still running here stop.
        plan.stop.extend(
            self.running
                .keys()
                .filter(|id| !specified.contains(id.as_str()))
                .cloned(),
        );
        for r in records {
            let id = &r.spec.id;
            let here = self.running.contains_key(id);
            if r.failed.is_some() {
                if here {
                    plan.stop.push(id.clone());
                }
            } else if r.owner == *local {
                if isolated {
                    if here {
                        plan.stop.push(id.clone());
                    }
                } else if !here && self.may_start(r, live) {
                    plan.start.push(id.clone());
                }
            } else {
                let owner_live = live.contains(&r.owner);
                if here && owner_live && r.handoff_from.as_ref() == Some(local) {
                    plan.hand_off.push(id.clone());
                } else if here {
                    plan.stop.push(id.clone());
                }
                if !owner_live && may_take_over {
                    plan.take_over.push(id.clone());
                }
            }
        }
        plan
    }

    /// Whether this node, the owner, may start `r` now: a child moving here waits for its
    /// state (or for its old node to go down), and no child starts while another node's
    /// instance still holds its name (that node stops it once it sees the new owner).
    fn may_start(&self, r: &ChildRecord, live: &BTreeSet<NodeName>) -> bool {
        match &r.handoff_from {
            Some(from) if from != self.local() => {
                self.actors.inner.children.has_handoff(&r.spec.id) || !live.contains(from)
            }
            _ => self
                .actors
                .whereis(&r.spec.id)
                .is_none_or(|holder| holder.node.name == *self.local()),
        }
    }

    /// Claims the children of lost owners that placement gives to this node; returns the
    /// ones to start here. Every survivor computes the same owner, so only one claims each.
    fn take_over(&self, view: &Snapshot, ids: &[String]) -> Vec<String> {
        if ids.is_empty() {
            return Vec::new();
        }
        let local = self.local().clone();
        let now_ms = crate::now_us() / 1000;
        self.actors.with_children(|t| {
            let mut claimed = Vec::new();
            for id in ids {
                let Some(mut r) = t.get(id).cloned() else { continue };
                let Ok(owner) = super::place(view, t, &r.spec, None, &self.strategies) else {
                    continue;
                };
                if owner != local {
                    continue;
                }
                let from = std::mem::replace(&mut r.owner, local.clone());
                r.handoff_from = None;
                if r.spec.restart == shoal_proto::children::Restart::Temporary && r.starts > 0 {
                    tracing::info!(child = %id, %from, "temporary child's node went down; not restarted");
                    t.write(id, None);
                } else if r.starts > 0 && !r.note_restart(now_ms) {
                    tracing::error!(child = %id, %from, "too many restarts; giving the child up");
                    r.failed = Some(ExitReason::MaxRestarts);
                    t.write(id, Some(r));
                } else {
                    tracing::info!(child = %id, %from, "taking over the child of a lost node");
                    if r.starts > 0 {
                        r.last_start = StartKind::FailedOver { from };
                    }
                    t.write(id, Some(r));
                    claimed.push(id.clone());
                }
            }
            claimed
        })
    }

    /// Starts child `id` here (from a handed-over state if one came) and registers it under
    /// its id; returns how it started, for the caller to record.
    fn start(&mut self, id: &str) -> Option<(String, StartKind)> {
        let record = self.actors.with_children(|t| t.get(id).cloned())?;
        let handed = record
            .handoff_from
            .as_ref()
            .and_then(|_| self.actors.inner.children.take_handoff(id));
        let (state, kind) = match (&record.handoff_from, handed) {
            (Some(from), Some((_, state))) => (state, StartKind::HandedOff { from: from.clone() }),
            (Some(from), None) => (None, StartKind::HandoffLost { from: from.clone() }),
            (None, _) => (None, record.last_start.clone()),
        };
        let spec = &record.spec;
        let pid = match self
            .actors
            .spawn_factory_with_state(&spec.factory, &spec.args, state.as_deref())
        {
            Ok(pid) => pid,
            Err(refusal) => {
                tracing::warn!(child = %id, factory = %spec.factory, "cannot start the child: {refusal}");
                self.restart_or_give_up(id, ExitReason::Error(refusal.to_string()));
                return None;
            }
        };
        match self.actors.register(id, &pid) {
            Ok(()) => {}
            Err(RegisterError::AlreadyRegistered(holder)) => {
                tracing::debug!(child = %id, %holder, "another instance still holds the name; waiting");
                let _ = self.actors.stop(&pid, ExitReason::Shutdown);
                return None;
            }
            Err(e) => {
                tracing::warn!(child = %id, "cannot register the child: {e}");
                let _ = self.actors.stop(&pid, ExitReason::Shutdown);
                return None;
            }
        }
        self.watch(id, &pid);
        tracing::debug!(child = %id, %pid, ?kind, "child started here");
        self.running.insert(
            id.to_owned(),
            Running {
                pid,
                factory: spec.factory.clone(),
            },
        );
        Some((id.to_owned(), kind))
    }

    /// Reports the exit of `pid` (child `id`) to the loop.
    fn watch(&self, id: &str, pid: &Pid) {
        let down = self.actors.monitor(pid);
        let exits = self.exits.0.clone();
        let (id, pid) = (id.to_owned(), pid.clone());
        self.actors.tracker().spawn(async move {
            let reason = down.await;
            let _ = exits.send((id, pid, reason));
        });
    }

    /// A child this node ran stopped: restart it as its restart type says.
    fn on_exit(&mut self, (id, pid, reason): Exit) {
        if self.running.get(&id).is_none_or(|r| r.pid != pid) {
            return; // stopped on purpose (moved, terminated, not ours any more)
        }
        self.running.remove(&id);
        if matches!(reason, ExitReason::NameConflict { .. }) {
            return; // another node's instance won the name; the table decides who runs it
        }
        tracing::info!(child = %id, %pid, %reason, "child stopped");
        self.restart_or_give_up(&id, reason);
    }

    /// Records that child `id` stopped for `reason`: removed if its restart type says it is
    /// done, given up if it restarted too often, else marked for a restart here.
    fn restart_or_give_up(&self, id: &str, reason: ExitReason) {
        let local = self.local().clone();
        let now_ms = crate::now_us() / 1000;
        self.actors.with_children(|t| {
            let Some(mut r) = t.get(id).cloned() else { return };
            if r.owner != local || r.failed.is_some() {
                return;
            }
            if finished(r.spec.restart, &reason) {
                t.write(id, None);
                return;
            }
            if r.note_restart(now_ms) {
                r.last_start = StartKind::Restarted { reason };
            } else {
                tracing::error!(child = %id, %reason, "too many restarts; giving the child up");
                r.failed = Some(ExitReason::MaxRestarts);
            }
            t.write(id, Some(r));
        });
    }

    /// Stops the instances of `ids` after taking their state, and sends each state to the
    /// child's new owner. The old instance is gone (and its name dropped) before the state
    /// leaves, so the two never run at once.
    async fn hand_off(&mut self, ids: &[String]) -> Vec<String> {
        let owners: HashMap<String, NodeName> = self.actors.with_children(|t| {
            ids.iter()
                .filter_map(|id| Some((id.clone(), t.get(id)?.owner.clone())))
                .collect()
        });
        let mut moves = Vec::new();
        for id in ids {
            let (Some(running), Some(owner)) = (self.running.remove(id), owners.get(id)) else {
                continue;
            };
            let actors = self.actors.clone();
            let id = id.clone();
            let owner = owner.clone();
            moves.push(async move {
                let down = actors.monitor(&running.pid);
                let state = if actors.factory_extract(&running.factory).is_some() {
                    actors.hand_off(&running.pid, &running.factory).await
                } else {
                    let _ = actors.stop(&running.pid, ExitReason::Shutdown);
                    None
                };
                let _ = down.await;
                let sent = actors
                    .inner
                    .remote
                    .route_id(&owner)
                    .is_some_and(|to| actors.send_handoff(&to, &id, state));
                tracing::info!(child = %id, to = %owner, sent, "handed the child over");
                sent.then_some(id)
            });
        }
        futures_util::future::join_all(moves)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// A graceful leave: every child here moves to the owner placement picks among the
    /// other nodes, with its state. This node starts and takes over nothing afterwards.
    async fn drain(&mut self) -> Vec<String> {
        self.draining = true;
        let view = self.snapshot.borrow().clone();
        let local = self.local().clone();
        let ids: Vec<String> = self.running.keys().cloned().collect();
        let moving = self.actors.with_children(|t| {
            let mut moving = Vec::new();
            for id in ids {
                let Some(mut r) = t.get(&id).cloned() else {
                    continue;
                };
                match super::place(&view, t, &r.spec, Some(&local), &self.strategies) {
                    Ok(owner) => {
                        r.owner = owner;
                        r.handoff_from = Some(local.clone());
                        t.write(&id, Some(r));
                        moving.push(id);
                    }
                    Err(e) => tracing::warn!(child = %id, "cannot move the child before leaving: {e}"),
                }
            }
            moving
        });
        self.hand_off(&moving).await
    }

    /// The oldest member moves children whose placement now says another node (after a
    /// join, when rebalancing is on), with their state.
    fn rebalance(&self, view: &Snapshot) {
        if crate::singleton::leader(view, None).is_none_or(|l| l.name != *self.local()) {
            return;
        }
        let moved = self.actors.with_children(|t| {
            let records: Vec<ChildRecord> = t
                .children()
                .filter(|r| r.failed.is_none() && r.handoff_from.is_none())
                .cloned()
                .collect();
            let mut moved = 0;
            for mut r in records {
                let Ok(owner) = super::place(view, t, &r.spec, None, &self.strategies) else {
                    continue;
                };
                if owner != r.owner {
                    r.handoff_from = Some(std::mem::replace(&mut r.owner, owner));
                    t.write(&r.spec.id.clone(), Some(r));
                    moved += 1;
                }
            }
            moved
        });
        if moved > 0 {
            tracing::info!(moved, "rebalancing children after a join");
        }
    }
}
