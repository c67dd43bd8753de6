//! The registry service of a node: the sans-io [`Registry`] replica behind a lock, fed with
//! registrations, actor exits, links up, nodes down and frames from peers, and what it asks
//! performed (frames to peers, the conflict policy on a losing actor). [`Actors`] is its
//! user-facing face (`register`, `whereis`, `join`, ...).
//!
//! [`Actors`]: crate::actor::Actors

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use tokio::sync::broadcast;

use shoal_proto::{
    LinkMessage, NodeId, RegisterError, Registration, Registry, RegistryFrame, RegistryOutput,
};

use crate::actor::{Cells, ExitReason, Pid, Remote, SysSignal, append_message};
use crate::history::History;
use shoal_api::views::EventKind;

/// What happens to an actor whose registered name goes to another actor when a partition
/// heals (or two registrations cross): the registry's rule picks one winner on every node,
/// and the loser's node applies the loser's policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// Stop the loser with `ExitReason::NameConflict { winner }` (default).
    #[default]
    Stop,
    /// Leave the loser running, without the name, and deliver
    /// [`Signal::NameConflict`](crate::actor::Signal::NameConflict) to it.
    Notify,
}

/// A change in a process group, as this node's view has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEvent {
    /// The group.
    pub group: String,
    /// The member that joined or left (left includes: stopped, or its node went down).
    pub pid: Pid,
    /// Whether it joined.
    pub joined: bool,
}

/// The registry replica, the conflict policy of each name this node registered, and the
/// group events channel.
#[derive(Debug)]
struct Replica {
    replica: Registry,
    policies: HashMap<String, ConflictPolicy>,
    group_events: broadcast::Sender<GroupEvent>,
}

/// The registry of one node; see the module docs. Lock order: the registry, then the actor
/// table, everywhere.
pub(crate) struct RegistryService {
    local: NodeId,
    state: RwLock<Replica>,
    cells: Arc<Cells>,
    remote: Arc<Remote>,
    history: Arc<History>,
}

impl RegistryService {
    pub(crate) fn new(local: NodeId, cells: Arc<Cells>, remote: Arc<Remote>, history: Arc<History>) -> Self {
        let state = Replica {
            replica: Registry::new(local.clone()),
            policies: HashMap::new(),
            group_events: broadcast::channel(4096).0,
        };
        Self {
            local,
            state: RwLock::new(state),
            cells,
            remote,
            history,
        }
    }
}

impl RegistryService {
    /// Registers `name` for `pid` cluster-wide (see [`Actors::register_with`]).
    ///
    /// [`Actors::register_with`]: crate::actor::Actors::register_with
    pub(crate) fn register(
        &self,
        name: &str,
        pid: &Pid,
        policy: ConflictPolicy,
    ) -> Result<(), RegisterError> {
        self.with_registry(|r| {
            // Checked under the registry lock: an actor that stops after this check has its
            // names dropped by `exited`, which takes the same lock after leaving the table.
            if pid.node == self.local && !self.cells.is_running(pid.id) {
                return Err(RegisterError::NoProc(pid.clone()));
            }
            r.replica.register(name, pid.clone(), crate::now_us())?;
            r.policies.insert(name.to_owned(), policy);
            Ok(())
        })
    }

    /// Drops this node's registration of `name`; returns the actor that held it.
    pub(crate) fn unregister(&self, name: &str) -> Option<Pid> {
        self.with_registry(|r| {
            r.policies.remove(name);
            r.replica.unregister(name)
        })
    }

    /// The actor registered under `name`, from this node's replica (no network).
    pub(crate) fn whereis(&self, name: &str) -> Option<Pid> {
        self.registry_read().replica.whereis(name).cloned()
    }

    /// Every registered name and its registration, sorted by name.
    pub(crate) fn registered(&self) -> Vec<(String, Registration)> {
        self.registry_read().replica.registered()
    }

    /// How many names this node's view holds.
    pub(crate) fn registered_count(&self) -> usize {
        self.registry_read().replica.len()
    }

    /// Adds the actor `pid` (of this node) to process group `group` cluster-wide. A member
    /// leaves when it stops or its node goes down.
    pub(crate) fn join(&self, group: &str, pid: &Pid) -> Result<(), RegisterError> {
        self.with_registry(|r| {
            if pid.node == self.local && !self.cells.is_running(pid.id) {
                return Err(RegisterError::NoProc(pid.clone()));
            }
            r.replica.join(group, pid.clone(), crate::now_us())
        })
    }

    /// Removes `pid` from `group`; returns whether it was a member (through this node).
    pub(crate) fn leave(&self, group: &str, pid: &Pid) -> bool {
        self.with_registry(|r| r.replica.leave(group, pid))
    }

    /// The members of `group` on every node, sorted, from this node's view.
    pub(crate) fn group_members(&self, group: &str) -> Vec<Pid> {
        self.registry_read().replica.group_members(group)
    }

    /// How many members `group` has, from this node's view.
    pub(crate) fn group_size(&self, group: &str) -> usize {
        self.registry_read().replica.group_size(group)
    }

    /// Every group with its member count, sorted by name.
    pub(crate) fn groups(&self) -> Vec<(String, usize)> {
        self.registry_read().replica.groups()
    }

    /// Group changes from now on (joins, and leaves including stops and node downs). A
    /// receiver 4096 events behind skips ahead (`Lagged`).
    pub(crate) fn subscribe_groups(&self) -> broadcast::Receiver<GroupEvent> {
        self.registry_read().group_events.subscribe()
    }

    /// A registry frame from `from`.
    pub(crate) fn handle_frame(&self, from: &NodeId, frame: RegistryFrame) {
        self.with_registry(|r| r.replica.handle_frame(from, frame));
    }

    /// A link to `peer` is up and routed: exchange digests.
    pub(crate) fn peer_linked(&self, peer: NodeId) {
        self.with_registry(|r| r.replica.handle_peer_up(peer));
    }

    /// Sends every linked peer our digest (anti-entropy; the node calls this periodically).
    pub(crate) fn tick(&self) {
        self.with_registry(|r| r.replica.handle_tick());
    }

    /// `peer` (a membership life) went down: its entries go, unless the same process is
    /// linked again already under a newer life (the rule is [`Registry::handle_node_down`]).
    ///
    /// [`Registry::handle_node_down`]: shoal_proto::Registry::handle_node_down
    pub(crate) fn peer_down(&self, peer: &NodeId) {
        let routed = self.remote.route_id(&peer.name);
        self.with_registry(|r| r.replica.handle_node_down(peer, routed.as_ref()));
    }

    /// The live members changed (or their links did): the registry relays entries of live
    /// members we have no link to.
    pub(crate) fn members_changed(&self, members: &[shoal_proto::MemberStatus]) {
        self.with_registry(|r| r.replica.handle_members(members));
    }

    /// Drops the names and group memberships of `pid`, which stopped.
    pub(crate) fn actor_exited(&self, pid: &Pid) {
        self.with_registry(|r| {
            for name in r.replica.unregister_pid(pid) {
                r.policies.remove(&name);
            }
        });
    }

    /// Runs `f` on the registry, then performs what it asked for. Frames are queued while
    /// the lock is held, so deltas leave in sequence order (queueing never waits); the lock
    /// order is registry, then actor table, everywhere.
    fn with_registry<T>(&self, f: impl FnOnce(&mut Replica) -> T) -> T {
        let mut registry = self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let listening = registry.group_events.receiver_count() > 0;
        registry.replica.set_group_events(listening);
        let result = f(&mut registry);
        // Published at once, not batched across calls: a frame this node sends after a
        // registry change (a handoff's state, a call's reply, a `Down`) must not overtake the
        // change on the link.
        registry.replica.flush();
        while let Some(output) = registry.replica.poll_output() {
            let policy = match output {
                RegistryOutput::GroupChanged { group, pid, joined } => {
                    let _ = registry.group_events.send(GroupEvent { group, pid, joined });
                    continue;
                }
                RegistryOutput::Conflict { ref name, .. } => {
                    registry.policies.remove(name).unwrap_or_default()
                }
                _ => ConflictPolicy::Stop,
            };
            self.perform(output, policy);
        }
        result
    }

    fn perform(&self, output: RegistryOutput, policy: ConflictPolicy) {
        let remote = &self.remote;
        match output {
            RegistryOutput::Send { to, frame } => {
                let _ = remote.send_with(&to, append_message(&LinkMessage::Registry(frame)));
            }
            RegistryOutput::Broadcast(frame) => {
                remote.broadcast(&LinkMessage::Registry(frame).encode());
            }
            RegistryOutput::GroupChanged { .. } => {}
            RegistryOutput::Conflict { name, loser, winner } => {
                tracing::warn!(%name, %loser, %winner, ?policy, "registered name lost to another node's registration");
                let detail = format!("{name}: {winner} keeps it, {loser} loses it ({policy:?})");
                self.history
                    .record(EventKind::RegistryConflict, name.clone(), None, detail);
                let Some(cell) = self.cells.get(loser.id) else {
                    return;
                };
                match policy {
                    ConflictPolicy::Stop => cell.signal(SysSignal::Stop(ExitReason::NameConflict { winner })),
                    ConflictPolicy::Notify => cell.signal(SysSignal::NameConflict { name, winner }),
                }
            }
        }
    }

    fn registry_read(&self) -> RwLockReadGuard<'_, Replica> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
