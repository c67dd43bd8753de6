//! The loop that drives this node's [`ChildManager`] (the sans-io decisions in shoal-proto):
//! it feeds it the child table, the live view and the split-brain verdict whenever one of
//! them changes, and performs its actions on real actors: starts (registered under the child
//! id), stops, and handoffs of state over the links.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use shoal_api::views::EventKind;
use shoal_proto::child_manager::{Action, ChildManager, Host, Instance, RECHECK, View};
use shoal_proto::children::{ChildTable, DIGEST_INTERVAL, StartKind};
use shoal_proto::placement::Placement;
use shoal_proto::split_brain::Verdict;
use shoal_proto::{ExitReason, NodeName, Pid, RegisterError};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::Table;
use crate::actor::Actors;
use crate::history::History;
use crate::snapshot::Snapshot;

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

/// What the decisions ask of this node: registry lookups, arrived states, custom strategies.
pub(crate) struct NodeHost<'a> {
    pub(crate) actors: &'a Actors,
    pub(crate) children: &'a Table,
    pub(crate) custom: HashMap<String, Arc<dyn Placement>>,
}

impl Host for NodeHost<'_> {
    fn name_holder(&self, id: &str) -> Option<Pid> {
        self.actors.whereis(id)
    }

    fn has_handoff(&self, id: &str) -> bool {
        self.children.has_handoff(id)
    }

    fn custom_placement(&self, name: &str) -> Option<&dyn Placement> {
        self.custom.get(name).map(|s| s.as_ref() as &dyn Placement)
    }
}

/// One node's child manager task.
pub(crate) struct Manager {
    actors: Actors,
    children: Arc<Table>,
    snapshot: watch::Receiver<Snapshot>,
    verdict: watch::Receiver<Verdict>,
    commands: mpsc::UnboundedReceiver<Command>,
    strategies: Arc<Strategies>,
    core: ChildManager,
    exits: (mpsc::UnboundedSender<Exit>, mpsc::UnboundedReceiver<Exit>),
}

impl Manager {
    pub(crate) fn new(
        actors: Actors,
        children: Arc<Table>,
        snapshot: watch::Receiver<Snapshot>,
        verdict: watch::Receiver<Verdict>,
        commands: mpsc::UnboundedReceiver<Command>,
        strategies: Arc<Strategies>,
        rebalance: bool,
    ) -> Self {
        let core = ChildManager::new(actors.node().name.clone(), rebalance);
        Self {
            actors,
            children,
            snapshot,
            verdict,
            commands,
            strategies,
            core,
            exits: mpsc::unbounded_channel(),
        }
    }

    /// Runs until `cancel`.
    pub(crate) async fn run(mut self, cancel: CancellationToken) {
        let mut changes = self.children.subscribe();
        let mut ticks = tokio::time::interval(RECHECK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut digests = tokio::time::interval(DIGEST_INTERVAL);
        digests.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let children = self.children.clone();
        loop {
            let has_children = self.children.with(|t| t.children().next().is_some());
            tokio::select! {
                () = cancel.cancelled() => return,
                changed = changes.changed() => if changed.is_err() { return },
                changed = self.snapshot.changed() => if changed.is_err() { return },
                changed = self.verdict.changed() => if changed.is_err() { return },
                () = children.kick.notified() => {}
                Some(exit) = self.exits.1.recv() => self.on_exit(exit),
                Some(command) = self.commands.recv() => match command {
                    Command::Kick => {}
                    Command::Drain(reply) => {
                        let moved = self.drain().await;
                        let _ = reply.send(moved);
                    }
                },
                _ = ticks.tick(), if has_children => {}
                // Always: an empty table still confirms its peers' tombstones.
                _ = digests.tick() => self.children.tick(),
            }
            self.reconcile().await;
        }
    }

    /// One look at the table, then the actions it calls for.
    async fn reconcile(&mut self) {
        let actions = self.decide(|core, table, view, host| {
            let actions = core.reconcile(table, view, host);
            host.children
                .retain_handoffs(|id, arrived_ms| core.keeps_handoff(table, id, arrived_ms, view.now_ms));
            actions
        });
        self.perform(actions).await;
    }

    /// Runs `decide` on the core with the table (under its lock, deltas sent after), the
    /// view and verdict as they are now, and this node as its host.
    fn decide<T>(
        &mut self,
        decide: impl FnOnce(&mut ChildManager, &mut ChildTable, &View<'_>, &NodeHost<'_>) -> T,
    ) -> T {
        let snapshot = self.snapshot.borrow().clone();
        let verdict = self.verdict.borrow().clone();
        let live = crate::split_brain::live(&snapshot);
        let view = View {
            now_ms: crate::now_us() / 1000,
            live: &live,
            verdict: &verdict,
        };
        let host = NodeHost {
            actors: &self.actors,
            children: &self.children,
            custom: self.strategies.snapshot(),
        };
        let core = &mut self.core;
        self.children.with(|table| decide(core, table, &view, &host))
    }

    /// Performs `actions` in order: stops, handoffs (awaited), then starts.
    async fn perform(&mut self, actions: Vec<Action>) -> Vec<String> {
        let mut moves = Vec::new();
        let mut starts = Vec::new();
        for action in actions {
            match action {
                Action::Stop { id, pid } => {
                    tracing::info!(child = %id, %pid, "stopping the child here: this node does not own it");
                    let _ = self.actors.stop(&pid, ExitReason::Shutdown);
                }
                Action::HandOff { id, instance, to } => moves.push(self.hand_off(id, instance, to)),
                Action::Start {
                    id,
                    spec,
                    handoff_from,
                } => starts.push((id, spec, handoff_from)),
            }
        }
        let mut moved = Vec::new();
        for (id, sent) in futures_util::future::join_all(moves).await {
            if sent {
                moved.push(id);
            } else {
                let core = &mut self.core;
                self.children.with(|t| core.handoff_undelivered(t, &id));
            }
        }
        let started: Vec<(String, Instance, Option<NodeName>)> = starts
            .into_iter()
            .filter_map(|(id, spec, from)| self.start(id, &spec, from.is_some()))
            .collect();
        if !started.is_empty() {
            // One delta for all starts of this pass (a failover starts hundreds at once).
            let core = &mut self.core;
            let kinds: Vec<(String, Option<StartKind>)> = self.children.with(|t| {
                started
                    .into_iter()
                    .map(|(id, instance, handed_from)| {
                        core.started(t, &id, instance, handed_from);
                        let kind = t.get(&id).map(|r| r.last_start.clone());
                        (id, kind)
                    })
                    .collect()
            });
            for (id, kind) in kinds {
                record_start(self.actors.history(), id, kind.as_ref());
            }
        }
        moved
    }

    /// Starts child `id` here (from its handed-over state if `moving` and it came) and
    /// registers it under its id; returns the instance for the caller to record, with the
    /// node whose state it started from. The state is used up only by a start that
    /// registered: one that finds the name taken leaves it for the next try.
    fn start(
        &mut self,
        id: String,
        spec: &shoal_proto::children::ChildSpec,
        moving: bool,
    ) -> Option<(String, Instance, Option<NodeName>)> {
        let (handed_from, state) = moving.then(|| self.children.peek_handoff(&id)).flatten().unzip();
        let state = state.flatten();
        let pid = match self
            .actors
            .spawn_factory_with_state(&spec.factory, &spec.args, state.as_deref())
        {
            Ok(pid) => pid,
            Err(refusal) => {
                tracing::warn!(child = %id, factory = %spec.factory, "cannot start the child: {refusal}");
                let reason = ExitReason::Error(refusal.to_string());
                let (core, now_ms) = (&mut self.core, crate::now_us() / 1000);
                self.children.with(|t| core.start_failed(t, &id, reason, now_ms));
                return None;
            }
        };
        match self.actors.register(&id, &pid) {
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
        if handed_from.is_some() {
            let _ = self.children.take_handoff(&id);
        }
        self.watch(&id, &pid);
        tracing::debug!(child = %id, %pid, ?handed_from, "child started here");
        let instance = Instance {
            pid,
            factory: spec.factory.clone(),
        };
        Some((id, instance, handed_from))
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

    /// An instance stopped: the decisions say whether and how it restarts.
    fn on_exit(&mut self, (id, pid, reason): Exit) {
        if self.core.running().get(&id).is_some_and(|r| r.pid == pid) {
            tracing::info!(child = %id, %pid, %reason, "child stopped");
            let detail = format!("{id} ({pid}) stopped: {reason}");
            self.actors
                .history()
                .record(EventKind::ChildStopped, id.clone(), None, detail);
        }
        let (core, now_ms) = (&mut self.core, crate::now_us() / 1000);
        self.children
            .with(|t| core.handle_exit(t, &id, &pid, reason, now_ms));
    }

    /// Takes the state of `instance` (if its factory can), stops it, waits until it is gone
    /// (its name dropped), then sends the state to `owner`. Returns the id and whether the
    /// state went out.
    fn hand_off(
        &self,
        id: String,
        instance: Instance,
        owner: NodeName,
    ) -> impl std::future::Future<Output = (String, bool)> + use<> {
        let actors = self.actors.clone();
        let children = self.children.clone();
        async move {
            let down = actors.monitor(&instance.pid);
            let state = if actors.factory_extract(&instance.factory).is_some() {
                actors.hand_off(&instance.pid, &instance.factory).await
            } else {
                let _ = actors.stop(&instance.pid, ExitReason::Shutdown);
                None
            };
            let _ = down.await;
            let sent = actors
                .remote()
                .route_id(&owner)
                .is_some_and(|to| children.send_handoff(&to, &id, state));
            tracing::info!(child = %id, to = %owner, sent, "handed the child over");
            let (result, detail) = if sent {
                ("sent", format!("{id} handed over to {owner} with its state"))
            } else {
                (
                    "undelivered",
                    format!("{id}: the state for {owner} could not be sent"),
                )
            };
            actors
                .history()
                .record(EventKind::Handoff, id.clone(), Some(result), detail);
            (id, sent)
        }
    }

    /// A graceful leave: every child here moves to the owner placement picks among the
    /// other nodes, with its state; returns the ids whose state went out.
    async fn drain(&mut self) -> Vec<String> {
        let actions = self.decide(|core, table, view, host| core.drain(table, view, host));
        self.perform(actions).await
    }
}

/// Records in `history` that child `id` started here, and how (`kind`, as the table says).
fn record_start(history: &History, id: String, kind: Option<&StartKind>) {
    let (reason, how) = match kind {
        None | Some(StartKind::Fresh) => ("fresh", "fresh".to_owned()),
        Some(StartKind::Restarted { reason }) => ("restarted", format!("restarted after: {reason}")),
        Some(StartKind::FailedOver { from }) => ("failed_over", format!("failed over from {from}")),
        Some(StartKind::HandedOff { from }) => ("handed_off", format!("handed off from {from}, state kept")),
        Some(StartKind::HandoffLost { from }) => (
            "handoff_lost",
            format!("{from} went down during the handoff; state lost"),
        ),
        Some(StartKind::HandedOffAfterLoss { from, .. }) => (
            "handed_off_after_loss",
            format!("handed off from {from}, with a state newer than a loss"),
        ),
    };
    history.record(
        EventKind::ChildStarted,
        id.clone(),
        Some(reason),
        format!("{id} started here: {how}"),
    );
}
