//! Actor traffic between nodes: routes to linked peers, calls and spawns waiting for an
//! answer, and monitors held on remote actors. Inbound frames are in `inbound.rs`, answers
//! to them in `reply.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

use bytes::Bytes;
use shoal_proto::{ActorFrame, LinkMessage, NodeId, NodeName, Refusal, SpawnRefusal};
use tokio::sync::oneshot;

use super::watcher::Watcher;
use super::{MonitorRef, Pid, SendError};
use crate::node::{LinkSender, OutboxError};

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
pub(crate) struct RemoteWatch {
    pub(crate) target: Pid,
    pub(crate) watcher: Watcher,
}

/// What a failed append to `node`'s link means to the sender.
pub(crate) fn send_error(e: OutboxError<SendError>, node: &NodeName) -> SendError {
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

    /// Bytes queued on the route to each linked node and not yet taken for writing, sorted
    /// by name (for metrics; locks each link's queue briefly).
    pub(crate) fn queued_bytes(&self) -> Vec<(NodeName, usize)> {
        let routes = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut queued: Vec<(NodeName, usize)> = routes
            .iter()
            .map(|(name, route)| (name.clone(), route.out.queued_bytes()))
            .collect();
        drop(routes);
        queued.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        queued
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
    pub(crate) fn answer(&self, peer: &NodeId, id: u64, answer: Answer) {
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

    pub(crate) fn take_watch(&self, peer: &NodeId, monitor: u64) -> Option<RemoteWatch> {
        let mut watches = lock(&self.watches);
        if watches.get(&monitor).is_some_and(|w| w.target.node == *peer) {
            watches.remove(&monitor)
        } else {
            None
        }
    }
}
