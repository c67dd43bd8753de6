//! Actor traffic between nodes: routes to linked peers, calls and spawns waiting for an
//! answer, monitors held on remote actors, and the handler for inbound actor frames.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use bytes::Bytes;
use shoal_proto::{ActorFrame, HotFrame, LinkMessage, NodeId, NodeName, Refusal, SpawnRefusal};
use tokio::sync::oneshot;

use super::cell::{Cell, Watcher};
use super::system::Actors;
use super::{ExitReason, MonitorRef, Pid, SendError};
use crate::node::{LinkSender, OutboxError, WeakLinkSender};

/// Appends `msg` to a link buffer (the encoder [`Remote::send_with`] takes).
pub(crate) fn append_message(msg: &LinkMessage) -> impl FnOnce(&mut Vec<u8>) -> Result<(), SendError> + '_ {
    move |out| {
        msg.append_to(out);
        Ok(())
    }
}

/// Where actor frames for one peer go.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    pub(crate) id: NodeId,
    pub(crate) out: LinkSender,
}

/// What a call or spawn waiting on a peer receives.
#[derive(Debug)]
pub(crate) enum Answer {
    Reply(Result<(u64, Bytes), Refusal>),
    Spawned(Result<u64, SpawnRefusal>),
}

struct Pending {
    node: NodeId,
    tx: oneshot::Sender<Answer>,
}

/// A monitor held by a local watcher on a remote actor.
struct RemoteWatch {
    target: Pid,
    watcher: Watcher,
}

/// The link a frame arrived on: answers go back on it while the driver still uses it, else
/// on the peer's current link (a duplicate link being retired still delivers what it
/// carried, and the answers take the link that replaced it).
#[derive(Debug)]
pub(crate) struct Origin {
    pub(crate) peer: NodeId,
    /// The link's outbound queue, held weakly so the driver can still close the link.
    pub(crate) out: WeakLinkSender,
}

/// Where to send the answer to a call that came from another node. Dropped unanswered (the
/// actor was halted mid-call), it answers `Stopped` with the halt's reason.
pub(crate) struct RemoteReply {
    actors: Option<Actors>,
    origin: Arc<Origin>,
    call: u64,
    callee: Option<Arc<Cell>>,
}

impl RemoteReply {
    /// Encodes and sends the answer; a reply that does not encode is refused instead.
    pub(crate) fn send<R>(self, result: Result<R, ExitReason>, encode: super::codec::EncodeReply<R>) {
        let result = match result {
            Ok(reply) => encode(&reply).map_err(Refusal::BadReply),
            Err(reason) => Err(Refusal::Stopped(reason)),
        };
        self.answer(result);
    }

    pub(crate) fn answer(mut self, result: Result<(u64, Bytes), Refusal>) {
        self.answer_once(result);
    }

    fn answer_once(&mut self, result: Result<(u64, Bytes), Refusal>) {
        if let Some(actors) = self.actors.take() {
            let frame = ActorFrame::Reply {
                call: self.call,
                result,
            };
            actors.reply(&self.origin, frame);
        }
    }
}

impl Drop for RemoteReply {
    fn drop(&mut self) {
        let reason = self
            .callee
            .as_ref()
            .map_or(ExitReason::Killed, |c| c.halt_reason());
        self.answer_once(Err(Refusal::Stopped(reason)));
    }
}

impl Actors {
    /// Sends an answer to a frame that came from `origin`. A reply too long for one frame
    /// is answered with `BadReply` instead, so the caller does not wait for its timeout.
    fn reply(&self, origin: &Origin, frame: ActorFrame) {
        let call = match &frame {
            ActorFrame::Reply { call, .. } => Some(*call),
            _ => None,
        };
        let sent = self.answer_to(origin, &LinkMessage::Actor(frame));
        if let (Err(SendError::TooLarge { len, max }), Some(call)) = (sent, call) {
            let why = format!("the reply of {len} bytes is over the link's frame limit of {max} bytes");
            let refusal = ActorFrame::Reply {
                call,
                result: Err(Refusal::BadReply(why)),
            };
            let _ = self.answer_to(origin, &LinkMessage::Actor(refusal));
        }
    }

    /// Queues `msg` on the link `origin` came in on, or on the peer's current link.
    fn answer_to(&self, origin: &Origin, msg: &LinkMessage) -> Result<(), SendError> {
        match origin.out.upgrade() {
            Some(out) => out
                .send_with(append_message(msg))
                .map_err(|e| send_error(e, &origin.peer.name)),
            None => self.inner.remote.send_with(&origin.peer, append_message(msg)),
        }
    }
}

/// What a failed append to `node`'s link means to the sender.
fn send_error(e: OutboxError<SendError>, node: &NodeName) -> SendError {
    match e {
        OutboxError::Closed => SendError::NodeDown(node.clone()),
        OutboxError::Busy { limit } => SendError::LinkBusy {
            node: node.clone(),
            limit,
        },
        OutboxError::TooLarge { len, max } => SendError::TooLarge { len, max },
        OutboxError::Encode(e) => e,
    }
}

/// Whether a frame may be refused because its link is busy.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Lane {
    /// Sends and calls of user code: refused with `LinkBusy` while the link is busy.
    User,
    /// Replies, monitors, exits, spawns and the like: always queued.
    Control,
}

/// Routes, pending requests and remote monitors of one node.
#[derive(Default)]
pub(crate) struct Remote {
    /// foldhash, not SipHash: every remote send looks its route up.
    routes: RwLock<HashMap<NodeName, Route, foldhash::fast::FixedState>>,
    pending: Mutex<HashMap<u64, Pending>>,
    watches: Mutex<HashMap<u64, RemoteWatch>>,
    next: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Remote {
    /// Replaces the routes (the driver calls this when links or membership change).
    pub(crate) fn set_routes(&self, routes: Vec<Route>) {
        let map = routes.into_iter().map(|r| (r.id.name.clone(), r)).collect();
        *self
            .routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = map;
    }

    /// Queues an encoded frame body on every route.
    pub(crate) fn broadcast(&self, body: &[u8]) {
        let routes = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for route in routes.values() {
            let _ = route.out.send(body);
        }
    }

    /// The identity of the linked life of `name`, if a link to it is up.
    pub(crate) fn route_id(&self, name: &NodeName) -> Option<NodeId> {
        let routes = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        routes.get(name).map(|r| r.id.clone())
    }

    /// Queues `frame` for `node` (see [`Remote::send_with`]).
    pub(crate) fn send_frame(&self, node: &NodeId, frame: ActorFrame) -> Result<(), SendError> {
        self.send_with(node, append_message(&LinkMessage::Actor(frame)))
    }

    /// Queues for `node` the frame body `encode` appends to the link's buffer, however busy
    /// the link is (control frames). Fails with `NoProc` for an older life of the node,
    /// with `NodeDown` when no link to it is up, and with `TooLarge` for a body over the
    /// link's frame limit.
    pub(crate) fn send_with(
        &self,
        node: &NodeId,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        self.send_in(Lane::Control, node, encode)
    }

    /// Like [`Self::send_with`] for user traffic: also fails with `LinkBusy` while the
    /// link's busy limit's worth of bytes waits unwritten.
    pub(crate) fn try_send_with(
        &self,
        node: &NodeId,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        self.send_in(Lane::User, node, encode)
    }

    /// Like [`Self::try_send_with`], but waits while the link is busy (see
    /// [`Self::when_room`]).
    pub(crate) async fn send_wait_with(
        &self,
        node: &NodeId,
        mut encode: impl FnMut(&mut Vec<u8>) -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        self.when_room(node, || self.try_send_with(node, &mut encode))
            .await
    }

    /// A user-lane [`Self::request`] that waits while the link is busy (see
    /// [`Self::when_room`]).
    pub(crate) async fn request_wait(
        &self,
        node: &NodeId,
        mut encode: impl FnMut(u64, &mut Vec<u8>) -> Result<(), SendError>,
    ) -> Result<(u64, oneshot::Receiver<Answer>), SendError> {
        self.when_room(node, || self.request(Lane::User, node, &mut encode))
            .await
    }

    /// Runs `attempt` until it does not fail with `LinkBusy`, waiting for the link to
    /// `node` to drain in between. The wait ends when the link drains, or when it closes
    /// (the next attempt then fails with `NodeDown`): a stalled peer holds it at most for
    /// the failure detection time. Cancel safe when `attempt` is.
    async fn when_room<T>(
        &self,
        node: &NodeId,
        mut attempt: impl FnMut() -> Result<T, SendError>,
    ) -> Result<T, SendError> {
        // Try first: while the link has room this skips the waiting machinery.
        match attempt() {
            Err(SendError::LinkBusy { .. }) => {}
            done => return done,
        }
        loop {
            // Made before the attempt: a drain between the two still wakes it.
            let room = self.route(node, |route| Ok(route.out.room()));
            match (attempt(), room) {
                (Err(SendError::LinkBusy { .. }), Ok(room)) => room.await,
                (done, _) => return done,
            }
        }
    }

    fn send_in(
        &self,
        lane: Lane,
        node: &NodeId,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        self.route(node, |route| {
            let queued = match lane {
                Lane::Control => route.out.send_with(encode),
                Lane::User => route.out.try_send_with(encode),
            };
            queued.map_err(|e| send_error(e, &node.name))
        })
    }

    /// Runs `f` on the route to this life of `node`: `NoProc` for an older life of the node,
    /// `NodeDown` when no link to it is up.
    fn route<T>(
        &self,
        node: &NodeId,
        f: impl FnOnce(&Route) -> Result<T, SendError>,
    ) -> Result<T, SendError> {
        let routes = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let route = routes
            .get(&node.name)
            .ok_or_else(|| SendError::NodeDown(node.name.clone()))?;
        if route.id.creation > node.creation {
            return Err(SendError::NoProc);
        }
        if route.id != *node {
            return Err(SendError::NodeDown(node.name.clone()));
        }
        f(route)
    }

    /// Sends the frame `encode(request id, buffer)` appends to `node` in `lane` and returns
    /// the id and the receiver of its answer.
    pub(crate) fn request(
        &self,
        lane: Lane,
        node: &NodeId,
        encode: impl FnOnce(u64, &mut Vec<u8>) -> Result<(), SendError>,
    ) -> Result<(u64, oneshot::Receiver<Answer>), SendError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let pending = Pending {
            node: node.clone(),
            tx,
        };
        lock(&self.pending).insert(id, pending);
        if let Err(e) = self.send_in(lane, node, |out| encode(id, out)) {
            self.forget(id);
            return Err(e);
        }
        Ok((id, rx))
    }

    /// Drops a request that timed out.
    pub(crate) fn forget(&self, id: u64) {
        lock(&self.pending).remove(&id);
    }

    /// Hands `answer` to request `id` if `peer` is the node it was sent to.
    fn answer(&self, peer: &NodeId, id: u64, answer: Answer) {
        let mut pending = lock(&self.pending);
        if pending.get(&id).is_some_and(|p| p.node == *peer)
            && let Some(p) = pending.remove(&id)
        {
            let _ = p.tx.send(answer);
        }
    }

    /// Asks `target`'s node to monitor it for `watcher`; gives the watcher back when no link
    /// to that node is up.
    pub(crate) fn monitor(&self, target: &Pid, watcher: Watcher) -> Result<(), Watcher> {
        let Some(MonitorRef(monitor)) = watcher.monitor_ref() else {
            return Err(watcher);
        };
        let frame = ActorFrame::Monitor {
            monitor,
            target: target.id,
        };
        // Record first, so a fast `Down` finds the watch.
        let watch = RemoteWatch {
            target: target.clone(),
            watcher,
        };
        lock(&self.watches).insert(monitor, watch);
        if self.send_frame(&target.node, frame).is_err() {
            let watch = lock(&self.watches).remove(&monitor);
            return watch.map_or(Ok(()), |w| Err(w.watcher));
        }
        Ok(())
    }

    /// Cancels a remote monitor.
    pub(crate) fn demonitor(&self, monitor: MonitorRef) {
        let watch = lock(&self.watches).remove(&monitor.0);
        if let Some(watch) = watch {
            let frame = ActorFrame::Demonitor {
                monitor: monitor.0,
                target: watch.target.id,
            };
            let _ = self.send_frame(&watch.target.node, frame);
        }
    }

    /// Fails every request waiting on `node` and returns every watch on its actors.
    pub(crate) fn node_down(&self, node: &NodeId) -> Vec<(Watcher, Pid)> {
        let on = |n: &NodeId| n.name == node.name && n.creation <= node.creation;
        lock(&self.pending).retain(|_, p| !on(&p.node));
        // Dropping a pending sender makes its waiter report `NodeDown`.
        let mut watches = lock(&self.watches);
        let gone: Vec<u64> = watches
            .iter()
            .filter(|(_, w)| on(&w.target.node))
            .map(|(k, _)| *k)
            .collect();
        gone.into_iter()
            .filter_map(|k| watches.remove(&k))
            .map(|w| (w.watcher, w.target))
            .collect()
    }

    fn take_watch(&self, peer: &NodeId, monitor: u64) -> Option<RemoteWatch> {
        let mut watches = lock(&self.watches);
        if watches.get(&monitor).is_some_and(|w| w.target.node == *peer) {
            watches.remove(&monitor)
        } else {
            None
        }
    }
}

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
        remote_counters(self).frames_in.fetch_add(1, Ordering::Relaxed);
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
            self.reply(origin, ActorFrame::Refused { to, why });
        }
    }

    /// A call from `origin` for local actor `to`; the actor, or the refusal, answers it.
    fn handle_call(&self, origin: &Arc<Origin>, to: u64, call: u64, tag: u64, body: &[u8]) {
        let callee = self.cell(to);
        let reply = RemoteReply {
            actors: Some(self.clone()),
            origin: origin.clone(),
            call,
            callee: callee.clone(),
        };
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
        remote_counters(self).frames_in.fetch_add(1, Ordering::Relaxed);
        match frame {
            ActorFrame::Send { to, tag, body, .. } => self.handle_send(origin, to, tag, &body),
            ActorFrame::Call { to, call, tag, body } => self.handle_call(origin, to, call, tag, &body),
            ActorFrame::Reply { call, result } => remote.answer(peer, call, Answer::Reply(result)),
            ActorFrame::Refused { to, why } => {
                let n = remote_counters(self).refused_out.fetch_add(1, Ordering::Relaxed) + 1;
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
                        self.reply(origin, exit);
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
                self.reply(origin, ActorFrame::Spawned { request, result });
            }
            ActorFrame::Spawned { request, result } => remote.answer(peer, request, Answer::Spawned(result)),
        }
    }

    fn refused(&self, peer: &NodeId, why: &Refusal) {
        let n = remote_counters(self).refused_in.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(%peer, "{n} actor messages from peers refused so far; latest: {why}");
        }
    }
}

fn remote_counters(actors: &Actors) -> &super::ActorCounters {
    &actors.inner.counters
}
