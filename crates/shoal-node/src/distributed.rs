//! The distributed supervisor: children that run once in the cluster, placed on live members,
//! restarted elsewhere when their node goes down, and moved with their state on
//! [`DistributedSupervisor::migrate`] and on a graceful leave.
//!
//! # Model
//! Child specs live in a table replicated on every node ([`shoal_proto::children`],
//! last-writer-wins per child). Each record names the child's *owner*; every node runs
//! exactly the children it owns and registers each under its id, so `whereis(id)` and
//! `send_named(id, ..)` find it from any node. The owner is chosen by the spec's placement
//! strategy ([`shoal_proto::placement`]) when the child starts, and again when its owner
//! goes down: every survivor computes the same new owner, which takes the child over.
//!
//! # Choices (where Horde and Akka differ, and why)
//! - **Failover waits for nothing but the split-brain verdict.** A node takes over a lost
//!   member's children at once if its side would keep running under the split-brain
//!   strategy (keep-majority by default). The losing side of a partition never takes
//!   anything over, so the majority side never runs two instances; the losing side stops
//!   its children once the resolver isolates it.
//! - **Restarts are per child**: a child that stops is restarted on its owner as its restart
//!   type says; more than `max_restarts` restarts within the window (3 in 5 s by default)
//!   and the child is given up ([`ChildInfo::failed`]) rather than taking its node's other
//!   children down, as a Horde supervisor would. A failover counts as a restart.
//! - **Temporary children are not restarted anywhere**, not even when their node goes down.
//! - **Rebalancing on join is off by default** (children stay where they run); turn it on
//!   with [`crate::NodeBuilder::rebalance_children`]. Then the oldest member moves, once the
//!   view settles after a join (never after losses alone), every child running settled on
//!   a live owner whose placement now says another node, with its state.
//! - **A move is one write that can lose.** Of concurrent moves of one child, the one the
//!   old owner handed the state with happens; `migrate` answers `Ok` only for a move that
//!   happened with the state, and otherwise says what did.
//! - **State moves only by handoff.** An actor that implements [`Handoff`](crate::actor::Handoff) and was
//!   started from [`Actors::register_handoff_factory`] hands its state to its next instance
//!   on `migrate`, rebalancing and graceful leave. A crash or a node down loses it, and
//!   [`ChildInfo::last_start`] says so.
//! - **After a partition heals**, the tables merge (the newest write per child wins), and the
//!   registry's conflict rule stops any second instance; exactly one remains.

mod manager;
mod table;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use shoal_proto::child_manager::{self, MoveOutcome, NotCurrent, StartRefused, View};
use shoal_proto::children::{ChildRecord, Restart};
use shoal_proto::{ExitReason, NodeName, Pid};
use tokio::sync::{mpsc, oneshot, watch};

pub(crate) use self::manager::{Command, Manager, Strategies};
pub(crate) use self::table::Table;
use crate::actor::Actors;
use crate::snapshot::Snapshot;
pub use shoal_proto::child_manager::MoveError;
pub use shoal_proto::children::{ChildSpec, Intensity, StartKind};
pub use shoal_proto::placement::{Candidate, Placement, PlacementError, PlacementStrategy};
use shoal_proto::split_brain::Verdict;

/// How long `start_child` and `migrate` wait for the child to run on its owner.
pub const START_TIMEOUT: Duration = Duration::from_secs(5);

/// A child that runs: where, and as which actor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StartedChild {
    /// The child id (its registered name).
    pub id: String,
    /// The owner node.
    pub node: NodeName,
    /// The running instance.
    pub pid: Pid,
}

/// One child as this node's replica knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChildInfo {
    /// The child id (its registered name).
    pub id: String,
    /// Its factory.
    pub factory: String,
    /// Restart type.
    pub restart: Restart,
    /// The node that runs it (or will).
    pub owner: NodeName,
    /// The running instance, if the registry knows one.
    pub pid: Option<Pid>,
    /// Restarts so far (every start after the first: after exits, failovers and handoffs).
    pub restarts: u32,
    /// How the current instance started.
    pub last_start: StartKind,
    /// Whether the current instance kept its state (false after a crash or a failover).
    pub state_kept: bool,
    /// Whether it is moving to its owner with its state right now.
    pub moving: bool,
    /// Set if it was given up (too many restarts).
    pub failed: Option<ExitReason>,
}

/// Counts of [`DistributedSupervisor::which_children`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChildCounts {
    /// Child specs in the table.
    pub specs: usize,
    /// Children with a running instance.
    pub running: usize,
    /// Children given up after too many restarts.
    pub failed: usize,
    /// Removed children whose tombstones this replica still holds (collected once every
    /// peer has them).
    pub tombstones: usize,
}

/// Why `start_child` refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartChildError {
    /// A child with this id exists.
    #[error("a child {id:?} exists already (owned by {owner})")]
    AlreadyStarted {
        /// The id.
        id: String,
        /// Its owner.
        owner: NodeName,
    },
    /// An actor that is not a child holds the name.
    #[error("the name {id:?} is registered to {holder}, which is not a supervised child")]
    NameTaken {
        /// The id.
        id: String,
        /// Who holds the name.
        holder: Pid,
    },
    /// The id is empty or starts with a NUL character.
    #[error("invalid child id {0:?}: ids are registered names, non-empty and not starting with NUL")]
    InvalidId(String),
    /// No factory of that name here (register the same factories on every node).
    #[error("no factory {0:?} on this node; register it on every node before starting children")]
    UnknownFactory(String),
    /// No eligible node, or an unknown custom strategy.
    #[error(transparent)]
    Placement(#[from] PlacementError),
    /// This node's side lost a partition; it starts nothing until it heals.
    #[error("this node is isolated by the split-brain resolver; start children on the majority side")]
    Isolated,
    /// This node did not hold the cluster's child table within [`START_TIMEOUT`] (it was
    /// still joining, or had merged no live peer's table); nothing was written.
    #[error(transparent)]
    NotCurrent(#[from] NotCurrent),
    /// The child could not be started on its owner (its factory refused, too often).
    #[error("child {id:?} failed to start: {reason}")]
    Failed {
        /// The id.
        id: String,
        /// Why.
        reason: ExitReason,
    },
    /// The child did not run within the timeout; it stays in the table and may start later.
    #[error("child {id:?} did not start on {owner} within {timeout:?}; it stays specified")]
    Timeout {
        /// The id.
        id: String,
        /// The owner it was placed on.
        owner: NodeName,
        /// How long we waited.
        timeout: Duration,
    },
}

impl From<StartRefused> for StartChildError {
    fn from(refused: StartRefused) -> Self {
        match refused {
            StartRefused::Isolated => Self::Isolated,
            StartRefused::NotCurrent(e) => Self::NotCurrent(e),
            StartRefused::AlreadyStarted { id, owner } => Self::AlreadyStarted { id, owner },
            StartRefused::NameTaken { id, holder } => Self::NameTaken { id, holder },
            StartRefused::Placement(e) => Self::Placement(e),
        }
    }
}

/// Why `migrate` did not move the child (or cannot say it did).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MigrateError {
    /// The move was refused; nothing was written.
    #[error(transparent)]
    Refused(#[from] MoveError),
    /// A concurrent move of the child won: it runs on `owner`, not on the target.
    #[error("the move of child {id:?} to {to} was superseded by a move to {owner}, where it runs")]
    Superseded {
        /// The id.
        id: String,
        /// The target of this move.
        to: NodeName,
        /// Where the child runs.
        owner: NodeName,
    },
    /// The child runs on the target, but started from its spec: the state handed over by
    /// `from` was lost on the way (that node went down, or the link broke).
    #[error(
        "child {id:?} runs on {to} but its state from {from} was lost on the way; it restarted from its spec"
    )]
    StateLost {
        /// The id.
        id: String,
        /// The target.
        to: NodeName,
        /// The node that was to hand the state over.
        from: NodeName,
    },
    /// The child was removed (terminated) while it moved.
    #[error("child {0:?} was terminated while it moved")]
    Removed(String),
    /// The child was given up (too many restarts) while it moved.
    #[error("child {0:?} was given up after too many restarts while it moved")]
    Failed(String),
    /// The move did not settle within the timeout (it may still finish).
    #[error("child {id:?} did not settle on {node} within {timeout:?}; it may still move")]
    Timeout {
        /// The id.
        id: String,
        /// The target.
        node: NodeName,
        /// How long we waited.
        timeout: Duration,
    },
}

/// The distributed supervisor of one node; get it from [`crate::Node::distributed_supervisor`]. Every
/// node has one; they share one child table.
#[derive(Clone)]
pub struct DistributedSupervisor {
    actors: Actors,
    children: Arc<Table>,
    snapshot: watch::Receiver<Snapshot>,
    verdict: watch::Receiver<Verdict>,
    commands: mpsc::UnboundedSender<Command>,
    strategies: Arc<manager::Strategies>,
}

impl DistributedSupervisor {
    pub(crate) fn new(
        actors: Actors,
        children: Arc<Table>,
        snapshot: watch::Receiver<Snapshot>,
        verdict: watch::Receiver<Verdict>,
        commands: mpsc::UnboundedSender<Command>,
        strategies: Arc<manager::Strategies>,
    ) -> Self {
        Self {
            actors,
            children,
            snapshot,
            verdict,
            commands,
            strategies,
        }
    }

    /// Starts `spec` on the node its placement picks and waits (at most [`START_TIMEOUT`])
    /// until it runs there (or on the node that one passed it on to, if it was leaving:
    /// the answer names the node it runs on). A node that has not joined its cluster yet, or has merged no
    /// live peer's table, first waits for that (at most [`START_TIMEOUT`] too) and writes
    /// nothing before: its empty table would start a second incarnation of a child the
    /// cluster runs (see [`child_manager::table_current`]).
    pub async fn start_child(&self, spec: ChildSpec) -> Result<StartedChild, StartChildError> {
        let id = spec.id.clone();
        if id.is_empty() || id.starts_with('\0') {
            return Err(StartChildError::InvalidId(id));
        }
        if !self.actors.has_factory(&spec.factory) {
            return Err(StartChildError::UnknownFactory(spec.factory));
        }
        let mut changes = self.children.subscribe();
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let owner = loop {
            match self.write_start(spec.clone()) {
                Err(StartRefused::NotCurrent(_)) if tokio::time::Instant::now() < deadline => {
                    next_look(&mut changes).await;
                }
                written => break written?,
            }
        };
        let _ = self.commands.send(Command::Kick);
        let found = self.wait_running(&id, None, &mut changes).await;
        match found {
            Some(Ok(pid)) => Ok(StartedChild {
                id,
                node: pid.node.name.clone(),
                pid,
            }),
            Some(Err(reason)) => Err(StartChildError::Failed { id, reason }),
            None => Err(StartChildError::Timeout {
                id,
                owner,
                timeout: START_TIMEOUT,
            }),
        }
    }

    /// Applies the start-child rule ([`child_manager::start`]) to the table, with the live
    /// view and verdict as they are now: the owner it wrote, or why it refused.
    fn write_start(&self, spec: ChildSpec) -> Result<NodeName, StartRefused> {
        let snapshot = self.snapshot.borrow();
        let verdict = self.verdict.borrow().clone();
        let live = crate::split_brain::live(&snapshot);
        let view = View {
            now_ms: crate::now_us() / 1000,
            live: &live,
            verdict: &verdict,
        };
        let host = manager::NodeHost {
            actors: &self.actors,
            children: &self.children,
            custom: self.strategies.snapshot(),
        };
        self.children
            .with(|table| child_manager::start(table, spec, &view, &host, snapshot.joining))
    }

    /// Removes child `id` cluster-wide; its owner stops the instance with `Shutdown`.
    /// Returns whether there was such a child.
    pub fn terminate_child(&self, id: &str) -> bool {
        let found = self.children.with(|table| child_manager::terminate(table, id));
        let _ = self.commands.send(Command::Kick);
        found
    }

    /// Every child, by id, with its owner and running instance (this node's view).
    pub fn which_children(&self) -> Vec<ChildInfo> {
        let records: Vec<ChildRecord> = self.children.with(|t| t.children().cloned().collect());
        records
            .into_iter()
            .map(|r| {
                let pid = self
                    .actors
                    .whereis(&r.spec.id)
                    .filter(|p| r.failed.is_none() && p.node.name == r.owner);
                ChildInfo {
                    restarts: r.starts.saturating_sub(1),
                    state_kept: r.last_start.kept_state(),
                    moving: r.handoff_from.is_some(),
                    id: r.spec.id,
                    factory: r.spec.factory,
                    restart: r.spec.restart,
                    owner: r.owner,
                    pid,
                    last_start: r.last_start,
                    failed: r.failed,
                }
            })
            .collect()
    }

    /// How many children there are, run and were given up.
    pub fn count(&self) -> ChildCounts {
        let children = self.which_children();
        ChildCounts {
            specs: children.len(),
            running: children.iter().filter(|c| c.pid.is_some()).count(),
            failed: children.iter().filter(|c| c.failed.is_some()).count(),
            tombstones: self.children.with(|t| t.tombstones()),
        }
    }

    /// Moves child `id` to `node` with its state (through its `Handoff`, if it has one) and
    /// waits (at most [`START_TIMEOUT`]) until it settles: `Ok` only if it runs on `node`
    /// from the state it had. A move is one write that can lose to a concurrent one (see
    /// [`shoal_proto::child_manager::Move`]); then this says which move won.
    pub async fn migrate(&self, id: &str, node: &NodeName) -> Result<Pid, MigrateError> {
        let mut changes = self.children.subscribe();
        let moved = {
            let view = self.snapshot.borrow();
            let live = crate::split_brain::live(&view);
            self.children
                .with(|table| shoal_proto::child_manager::migrate(table, id, node, &live))?
        };
        let _ = self.commands.send(Command::Kick);
        let Some(moved) = moved else {
            return match self.wait_running(id, Some(node), &mut changes).await {
                Some(Ok(pid)) => Ok(pid),
                Some(Err(_)) => Err(MigrateError::Failed(id.to_owned())),
                None => Err(self.migrate_timeout(id, node)),
            };
        };
        let wait = async {
            loop {
                let outcome = self.children.with(|t| moved.outcome(t));
                let running = self.actors.whereis(id).filter(|pid| pid.node.name == *node);
                match (outcome, running) {
                    (MoveOutcome::Done { state_kept: true }, Some(pid)) => return Ok(pid),
                    (MoveOutcome::Done { state_kept: false }, Some(_)) => {
                        return Err(MigrateError::StateLost {
                            id: id.to_owned(),
                            to: node.clone(),
                            from: moved.from.clone(),
                        });
                    }
                    (MoveOutcome::Superseded { owner }, _) => {
                        return Err(MigrateError::Superseded {
                            id: id.to_owned(),
                            to: node.clone(),
                            owner,
                        });
                    }
                    (MoveOutcome::Removed, _) => return Err(MigrateError::Removed(id.to_owned())),
                    (MoveOutcome::Failed, _) => return Err(MigrateError::Failed(id.to_owned())),
                    (MoveOutcome::Moving | MoveOutcome::Done { .. }, _) => next_look(&mut changes).await,
                }
            }
        };
        tokio::time::timeout(START_TIMEOUT, wait)
            .await
            .unwrap_or_else(|_| Err(self.migrate_timeout(id, node)))
    }

    fn migrate_timeout(&self, id: &str, node: &NodeName) -> MigrateError {
        MigrateError::Timeout {
            id: id.to_owned(),
            node: node.clone(),
            timeout: START_TIMEOUT,
        }
    }

    /// Registers a custom placement strategy under `name` (do so on every node), for specs
    /// with `PlacementStrategy::Custom(name)`.
    pub fn register_placement(&self, name: impl Into<String>, strategy: impl Placement + 'static) {
        self.strategies.register(name.into(), Arc::new(strategy));
    }

    /// Hands every child this node owns to the node placement picks among the others, with
    /// state, and waits (at most [`START_TIMEOUT`]) until each runs on its new node, so the
    /// states arrived before this node goes (a graceful leave does this first). Returns how
    /// many children moved. Afterwards this node starts no child.
    pub async fn drain(&self) -> usize {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Drain(reply)).is_err() {
            return 0;
        }
        let moved = done.await.unwrap_or_default();
        let local = self.actors.node().name.clone();
        let mut changes = self.children.subscribe();
        let arrived = |id: &String| self.actors.whereis(id).is_some_and(|p| p.node.name != local);
        let wait = async {
            while !moved.iter().all(arrived) {
                next_look(&mut changes).await;
            }
        };
        let _ = tokio::time::timeout(START_TIMEOUT, wait).await;
        moved.iter().filter(|id| arrived(id)).count()
    }

    /// Waits until `id` runs on node `on` (`Ok(pid)`), or on its current owner for `None`
    /// (followed when a leaving node passes the child on); until it is given up
    /// (`Err(reason)`); or until the timeout passes (`None`).
    async fn wait_running(
        &self,
        id: &str,
        on: Option<&NodeName>,
        changes: &mut watch::Receiver<u64>,
    ) -> Option<Result<Pid, ExitReason>> {
        let check = || {
            let record = self
                .children
                .with(|t| t.get(id).map(|r| (r.owner.clone(), r.failed.clone())));
            let (owner, failed) = record?;
            if let Some(reason) = failed {
                return Some(Err(reason));
            }
            let owner = on.unwrap_or(&owner);
            self.actors
                .whereis(id)
                .filter(|pid| pid.node.name == *owner)
                .map(Ok)
        };
        let wait = async {
            loop {
                if let Some(found) = check() {
                    return found;
                }
                next_look(changes).await;
            }
        };
        tokio::time::timeout(START_TIMEOUT, wait).await.ok()
    }
}

/// Waits for a change of the child table, or [`LOOK_AGAIN`], whichever comes first. The
/// registration of a started child travels as a registry delta, which may reach us after
/// the table change that follows it when two links briefly coexist between a pair of nodes.
async fn next_look(changes: &mut watch::Receiver<u64>) {
    let _ = tokio::time::timeout(LOOK_AGAIN, changes.changed()).await;
}

/// How often waiters look again without a table change.
const LOOK_AGAIN: Duration = Duration::from_millis(5);

impl std::fmt::Debug for DistributedSupervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributedSupervisor")
            .field("node", self.actors.node())
            .finish_non_exhaustive()
    }
}
