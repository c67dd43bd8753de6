//! Monitors and links, local and across nodes: registering them, firing them when an actor
//! stops, and firing `NodeDown` for every actor of a node that went down.

use std::sync::Arc;

use shoal_proto::{ActorFrame, NodeId};

use super::cell::{Cell, SysSignal};
use super::system::Actors;
use super::watcher::Watcher;
use super::{ExitReason, MonitorRef, Pid};

impl Actors {
    /// Registers `watcher` on `target`; fires at once with `NoProc` or `NodeDown` when the
    /// target is already gone or unreachable.
    pub(crate) fn monitor_with(&self, watcher: Watcher, target: &Pid) {
        if target.node != self.inner.local {
            if let Err(watcher) = self.inner.remote.monitor(target, watcher) {
                self.notify(watcher, target, ExitReason::NodeDown);
            }
            return;
        }
        let Some(cell) = self.cell(target.id) else {
            return self.notify(watcher, target, ExitReason::NoProc);
        };
        let mut watchers = cell.watchers();
        if let Some(reason) = watchers.dead.clone() {
            drop(watchers);
            return self.notify(watcher, target, reason);
        }
        watchers.monitors.push(watcher);
    }

    /// Cancels a monitor made by a local watcher.
    pub(crate) fn demonitor(&self, monitor: MonitorRef, target: &Pid) {
        if target.node != self.inner.local {
            self.inner.remote.demonitor(monitor);
        } else if let Some(cell) = self.cell(target.id) {
            cell.watchers()
                .monitors
                .retain(|w| w.monitor_ref() != Some(monitor));
        }
    }

    /// Tells `watcher` that `pid` stopped.
    pub(crate) fn notify(&self, watcher: Watcher, pid: &Pid, reason: ExitReason) {
        match watcher {
            Watcher::Actor { id, monitor } => {
                if let Some(cell) = self.cell(id) {
                    cell.signal(SysSignal::Down {
                        monitor,
                        pid: pid.clone(),
                        reason,
                    });
                }
            }
            Watcher::Channel { tx, .. } => {
                let _ = tx.send(reason);
            }
            Watcher::Remote { node, monitor } => {
                let _ = self
                    .inner
                    .remote
                    .send_frame(&node, ActorFrame::Down { monitor, reason });
            }
        }
    }

    /// Links local actor `cell` with `other` (local or remote) both ways. If `other` is gone,
    /// `cell` receives its exit at once (`NoProc` or `NodeDown`).
    pub(crate) fn link(&self, cell: &Arc<Cell>, other: &Pid) {
        if *other == cell.pid || !cell.watchers().links.insert(other.clone()) {
            return;
        }
        let gone = if other.node != self.inner.local {
            let frame = ActorFrame::Link {
                from: cell.pid.id,
                to: other.id,
            };
            self.inner
                .remote
                .send_frame(&other.node, frame)
                .err()
                .map(|_| ExitReason::NodeDown)
        } else {
            match self.cell(other.id) {
                None => Some(ExitReason::NoProc),
                Some(peer) => {
                    let mut watchers = peer.watchers();
                    match watchers.dead.clone() {
                        Some(reason) => Some(reason),
                        None => {
                            watchers.links.insert(cell.pid.clone());
                            None
                        }
                    }
                }
            }
        };
        if let Some(reason) = gone {
            cell.watchers().links.remove(other);
            cell.signal(SysSignal::Exit {
                from: other.clone(),
                reason,
            });
        }
    }

    /// Removes the link between local actor `cell` and `other`, both ways.
    pub(crate) fn unlink(&self, cell: &Arc<Cell>, other: &Pid) {
        if !cell.watchers().links.remove(other) {
            return;
        }
        if other.node != self.inner.local {
            let frame = ActorFrame::Unlink {
                from: cell.pid.id,
                to: other.id,
            };
            let _ = self.inner.remote.send_frame(&other.node, frame);
        } else if let Some(peer) = self.cell(other.id) {
            peer.watchers().links.remove(&cell.pid);
        }
    }

    /// Records that `cell` stopped with `reason`: removes it from the table and tells its
    /// monitors and linked actors, local and remote.
    pub(crate) fn exited(&self, cell: &Arc<Cell>, reason: &ExitReason) {
        let (monitors, links) = {
            let mut watchers = cell.watchers();
            watchers.dead = Some(reason.clone());
            (
                std::mem::take(&mut watchers.monitors),
                std::mem::take(&mut watchers.links),
            )
        };
        self.cells().remove(cell.pid.id);
        self.registry().actor_exited(&cell.pid);
        for watcher in monitors {
            self.notify(watcher, &cell.pid, reason.clone());
        }
        for other in links {
            self.deliver_exit(&cell.pid, &other, reason.clone());
        }
        tracing::debug!(pid = %cell.pid, %reason, "actor stopped");
    }

    /// Delivers the exit of `from` to the actor `to` it was linked with.
    pub(crate) fn deliver_exit(&self, from: &Pid, to: &Pid, reason: ExitReason) {
        if to.node != self.inner.local {
            let frame = ActorFrame::Exit {
                from: from.id,
                to: to.id,
                reason,
            };
            let _ = self.inner.remote.send_frame(&to.node, frame);
        } else if let Some(peer) = self.cell(to.id)
            && peer.watchers().links.remove(from)
        {
            peer.signal(SysSignal::Exit {
                from: from.clone(),
                reason,
            });
        }
    }

    /// `node` went down: calls and spawns waiting on it fail, monitors of its actors fire
    /// with `NodeDown`, links to them deliver `NodeDown` exits, and its monitors of our
    /// actors are dropped.
    pub(crate) fn node_down(&self, node: &NodeId) {
        let gone = |pid: &Pid| pid.node.name == node.name && pid.node.creation <= node.creation;
        self.registry().peer_down(node);
        for (watcher, target) in self.inner.remote.node_down(node) {
            self.notify(watcher, &target, ExitReason::NodeDown);
        }
        for cell in self.cells().all() {
            let linked: Vec<Pid> = {
                let mut watchers = cell.watchers();
                watchers.monitors.retain(|w| !w.is_on(node));
                let linked = watchers.links.iter().filter(|p| gone(p)).cloned().collect();
                watchers.links.retain(|p| !gone(p));
                linked
            };
            for from in linked {
                cell.signal(SysSignal::Exit {
                    from,
                    reason: ExitReason::NodeDown,
                });
            }
        }
    }
}
