//! Inbound actor frames: what a link hands the node's actors (sends, calls, monitors, links,
//! exits, spawns and the answers to this node's own requests).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use shoal_proto::{ActorFrame, HotFrame, NodeId, Refusal};

use super::remote::Answer;
use super::reply::{Origin, RemoteReply};
use super::system::Actors;
use super::watcher::Watcher;
use super::{ExitReason, Pid};

impl Actors {
    /// Whether the driver routes `peer`'s name to another process than `peer`: the membership
    /// core admitted that other process's link, and refused (or has not yet admitted) this
    /// one. Replication frames from such a process (a second process under a taken name) must
    /// not touch our replicas. A name with no route yet is not "another process": frames that
    /// race ahead of the route (a handoff state among them) are kept.
    pub(crate) fn routes_another_process(&self, peer: &NodeId) -> bool {
        self.inner
            .remote
            .route_id(&peer.name)
            .is_some_and(|routed| routed != *peer)
    }

    /// Handles a `Send` or `Call` frame read in place (see [`shoal_proto::decode_hot`]).
    pub(crate) fn handle_hot_frame(&self, origin: &Arc<Origin>, frame: HotFrame<'_>) {
        self.inner.counters.frames_in.fetch_add(1, Ordering::Relaxed);
        match frame {
            HotFrame::Send { to, tag, body, .. } => self.handle_send(origin, to, tag, body),
            HotFrame::Call { to, call, tag, body } => self.handle_call(origin, to, call, tag, body),
        }
    }

    /// A one-way message from `origin` for local actor `to`; a refusal is answered.
    fn handle_send(&self, origin: &Arc<Origin>, to: u64, tag: u64, body: &[u8]) {
        let result = match self.cell(to) {
            Some(cell) => cell.inbox.send_remote(tag, body).inspect_err(|e| {
                if *e == Refusal::MailboxFull {
                    cell.count_dropped();
                }
            }),
            None => Err(Refusal::NoProc),
        };
        if let Err(why) = result {
            self.refused(&origin.peer, &why);
            origin.answer(&self.inner.remote, ActorFrame::Refused { to, why });
        }
    }

    /// A call from `origin` for local actor `to`; the actor, or the refusal, answers it.
    fn handle_call(&self, origin: &Arc<Origin>, to: u64, call: u64, tag: u64, body: &[u8]) {
        let callee = self.cell(to);
        let reply = RemoteReply::new(self.inner.remote.clone(), origin.clone(), call, callee.clone());
        let result = match callee {
            Some(cell) => cell.inbox.call_remote(tag, body, reply),
            None => {
                reply.answer(Err(Refusal::NoProc));
                Err(Refusal::NoProc)
            }
        };
        if let Err(why) = result {
            self.refused(&origin.peer, &why);
        }
    }

    /// Handles one actor frame that arrived from `origin`. Never waits: a full mailbox
    /// refuses the message.
    pub(crate) fn handle_frame(&self, origin: &Arc<Origin>, frame: ActorFrame) {
        let peer = &origin.peer;
        let remote = &self.inner.remote;
        self.inner.counters.frames_in.fetch_add(1, Ordering::Relaxed);
        match frame {
            ActorFrame::Send { to, tag, body, .. } => self.handle_send(origin, to, tag, &body),
            ActorFrame::Call { to, call, tag, body } => self.handle_call(origin, to, call, tag, &body),
            ActorFrame::Reply { call, result } => remote.answer(peer, call, Answer::Reply(result)),
            ActorFrame::Refused { to, why } => {
                let n = self.inner.counters.refused_out.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(%peer, actor = to, "{n} sends refused so far; latest: {why}");
                }
            }
            ActorFrame::Monitor { monitor, target } => {
                let watcher = Watcher::Remote {
                    node: peer.clone(),
                    monitor,
                };
                self.monitor_with(watcher, &Pid::new(self.node().clone(), target));
            }
            ActorFrame::Demonitor { monitor, target } => {
                if let Some(cell) = self.cell(target) {
                    let watches = |w: &Watcher| matches!(w, Watcher::Remote { node, monitor: m } if node == peer && *m == monitor);
                    cell.watchers().monitors.retain(|w| !watches(w));
                }
            }
            ActorFrame::Down { monitor, reason } => {
                if let Some(watch) = remote.take_watch(peer, monitor) {
                    self.notify(watch.watcher, &watch.target, reason);
                }
            }
            ActorFrame::Link { from, to } => {
                let from = Pid::new(peer.clone(), from);
                match self.cell(to) {
                    Some(cell) => self.link(&cell, &from),
                    None => {
                        let exit = ActorFrame::Exit {
                            from: to,
                            to: from.id,
                            reason: ExitReason::NoProc,
                        };
                        origin.answer(&self.inner.remote, exit);
                    }
                }
            }
            ActorFrame::Unlink { from, to } => {
                if let Some(cell) = self.cell(to) {
                    cell.watchers().links.remove(&Pid::new(peer.clone(), from));
                }
            }
            ActorFrame::Exit { from, to, reason } => {
                let local = Pid::new(self.node().clone(), to);
                self.deliver_exit(&Pid::new(peer.clone(), from), &local, reason);
            }
            ActorFrame::Spawn {
                request,
                factory,
                args,
            } => {
                let result = self.spawn_factory(&factory, &args).map(|pid| pid.id);
                origin.answer(&self.inner.remote, ActorFrame::Spawned { request, result });
            }
            ActorFrame::Spawned { request, result } => remote.answer(peer, request, Answer::Spawned(result)),
        }
    }

    fn refused(&self, peer: &NodeId, why: &Refusal) {
        let n = self.inner.counters.refused_in.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(%peer, "{n} actor messages from peers refused so far; latest: {why}");
        }
    }
}
