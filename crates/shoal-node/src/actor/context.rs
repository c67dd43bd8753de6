//! `Ctx<A>`: what a running actor can do besides handling its message.

use std::sync::Arc;

use super::actor_ref::ActorRef;
use super::cell::Cell;
use super::system::{Actors, SpawnOptions};
use super::watcher::Watcher;
use super::{Actor, ExitReason, MonitorRef, Pid};

/// Handed to every hook of an actor: its own address, the node's [`Actors`], monitors,
/// links, children, and a way to stop.
pub struct Ctx<A: Actor> {
    myself: ActorRef<A>,
    actors: Actors,
    pub(crate) trap_exits: bool,
    pub(crate) stop: Option<ExitReason>,
}

impl<A: Actor> Ctx<A> {
    pub(crate) fn new(myself: ActorRef<A>, actors: Actors) -> Self {
        Self {
            myself,
            actors,
            trap_exits: false,
            stop: None,
        }
    }

    pub(crate) fn cell(&self) -> &Arc<Cell> {
        &self.myself.cell
    }

    /// This actor's address.
    pub fn pid(&self) -> &Pid {
        self.myself.pid()
    }

    /// A typed handle to this actor (to give to others).
    pub fn myself(&self) -> ActorRef<A> {
        self.myself.clone()
    }

    /// The node's actors: send, call, spawn, spawn remote.
    pub fn actors(&self) -> &Actors {
        &self.actors
    }

    /// Stops this actor with `reason` once the current hook returns.
    pub fn stop(&mut self, reason: ExitReason) {
        self.stop = Some(reason);
    }

    /// While set, exits of linked actors arrive as [`super::Signal::Exit`] instead of
    /// stopping this actor (except `kill`, which cannot be trapped).
    pub fn trap_exits(&mut self, trap: bool) {
        self.trap_exits = trap;
    }

    /// Watches `pid` (on any node): one [`super::Signal::Down`] arrives when it stops, with
    /// `NoProc` at once if it does not exist and `NodeDown` if its node goes down.
    pub fn monitor(&self, pid: &Pid) -> MonitorRef {
        let monitor = self.actors.next_ref();
        let watcher = Watcher::Actor {
            id: self.pid().id,
            monitor,
        };
        self.actors.monitor_with(watcher, pid);
        monitor
    }

    /// Cancels a monitor; its `Down` may still arrive if it fired already.
    pub fn demonitor(&self, monitor: MonitorRef, pid: &Pid) {
        self.actors.demonitor(monitor, pid);
    }

    /// Links this actor with `pid` (on any node): when either stops with a reason other than
    /// `Normal`, the other stops with the same reason (or receives it, when trapping exits).
    pub fn link(&self, pid: &Pid) {
        self.actors.link(self.cell(), pid);
    }

    /// Removes a link.
    pub fn unlink(&self, pid: &Pid) {
        self.actors.unlink(self.cell(), pid);
    }

    /// Spawns `actor` as a child: linked to this actor, with this actor as its parent in
    /// introspection.
    pub fn spawn_child<B: Actor>(&self, actor: B, options: SpawnOptions) -> ActorRef<B> {
        let options = SpawnOptions {
            parent: Some(self.pid().clone()),
            ..options
        };
        self.actors.spawn_with(actor, options)
    }
}
