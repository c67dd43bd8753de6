//! `Actors`: a node's actor table and the operations that need it (spawn, send and call by
//! pid, monitors, links, kill, introspection). Remote traffic is in `remote.rs`, factories in
//! `factory.rs`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::Value;

use shoal_proto::{Creation, NodeId, NodeName, RemoteMessage, append_call, append_send, tag_of};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::body;
use super::cell::{Cell, Inbox, Meta, SysSignal};
use super::factory::Factories;
use super::info::ActorInfo;
use super::remote::{Answer, Lane, Remote};
use super::watcher::Watcher;
use super::{CallError, ExitReason, JsonError, MonitorRef, Pid, SendError, StateError};

/// Counters of the actor plane, for `/api/node`.
#[derive(Debug, Default)]
pub(crate) struct ActorCounters {
    /// Frames from peers that we refused (unknown actor, wrong type, bad body, full mailbox).
    pub(crate) refused_in: AtomicU64,
    /// Refusals peers sent back for our sends.
    pub(crate) refused_out: AtomicU64,
    /// Actor frames received.
    pub(crate) frames_in: AtomicU64,
}

/// The local actors by id. foldhash, not SipHash: every local send and call looks an actor
/// up here, and ids are not chosen by peers.
type ActorTable = HashMap<u64, Arc<Cell>, foldhash::fast::FixedState>;

pub(crate) struct SystemInner {
    pub(crate) local: NodeId,
    table: RwLock<ActorTable>,
    next_id: AtomicU64,
    next_ref: AtomicU64,
    pub(crate) remote: Arc<Remote>,
    pub(crate) factories: Factories,
    pub(crate) registry: RwLock<super::registry::NodeRegistry>,
    pub(crate) counters: ActorCounters,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

/// The actors of one node: spawn, send, call, monitor, kill, inspect. Clones share the table;
/// get it from [`crate::Node::actors`] or [`Ctx::actors`].
#[derive(Clone)]
pub struct Actors {
    pub(crate) inner: Arc<SystemInner>,
}

impl Actors {
    pub(crate) fn new(local: NodeId, cancel: CancellationToken, tracker: TaskTracker) -> Self {
        Self {
            inner: Arc::new(SystemInner {
                local: local.clone(),
                table: RwLock::new(ActorTable::default()),
                next_id: AtomicU64::new(1),
                next_ref: AtomicU64::new(1),
                remote: Arc::default(),
                factories: Factories::default(),
                registry: RwLock::new(super::registry::NodeRegistry::new(local.clone())),
                counters: ActorCounters::default(),
                cancel,
                tracker,
            }),
        }
    }

    /// An actor system with no node around it: no links, no gossip, no sockets. Everything
    /// local works (spawn, send, call, monitors, links, supervisors, local factories);
    /// remote pids are unreachable (`NodeDown`). For tests and single-process programs.
    /// Must be called inside a tokio runtime.
    pub fn standalone(name: NodeName) -> Self {
        let local = NodeId::new(name, Creation(crate::now_us()));
        Self::new(local, CancellationToken::new(), TaskTracker::new())
    }

    /// The routes to other nodes, for the node's services that send their own frames.
    pub(crate) fn remote(&self) -> &Arc<Remote> {
        &self.inner.remote
    }

    /// The tracker of this node's tasks (spawn helpers on it, so a stop waits for them).
    pub(crate) fn tracker(&self) -> &TaskTracker {
        &self.inner.tracker
    }

    /// Stops every actor with `Shutdown` (a node does this when it stops), and waits at most
    /// `within` for them to finish.
    pub async fn stop_all(&self, within: Duration) {
        self.inner.cancel.cancel();
        self.inner.tracker.close();
        let _ = tokio::time::timeout(within, self.inner.tracker.wait()).await;
    }

    /// This node's identity, as in every local pid.
    pub fn node(&self) -> &NodeId {
        &self.inner.local
    }

    /// Registers a new actor's cell under a fresh id, linked to its parent if it has one;
    /// `signals` and `inbox` are its lanes. The caller runs the actor ([`Actors::spawn_with`]).
    pub(crate) fn add_cell(
        &self,
        meta: Meta,
        signals: mpsc::UnboundedSender<SysSignal>,
        inbox: Box<dyn Inbox>,
    ) -> Arc<Cell> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let pid = Pid::new(self.inner.local.clone(), id);
        let parent = meta.parent.clone();
        let halt = self.inner.cancel.child_token();
        let cell = Arc::new(Cell::new(pid, meta, signals, inbox, halt));
        self.table_write().insert(id, cell.clone());
        if let Some(parent) = &parent {
            self.link(&cell, parent);
        }
        cell
    }

    /// Sends `msg` to the actor at `to`, on this node or another. A local send fails at once
    /// when the actor is gone or its mailbox is full; a remote send fails at once when its
    /// node is not linked or the link is busy (`LinkBusy`: the peer reads slower than this
    /// node sends; see [`Actors::send_wait`]), and is otherwise refused asynchronously
    /// (counted on the receiving node).
    pub fn send<M: RemoteMessage>(&self, to: &Pid, msg: M) -> Result<(), SendError> {
        if to.node == self.inner.local {
            return self
                .cell(to.id)
                .ok_or(SendError::NoProc)?
                .inbox
                .send_any(Box::new(msg));
        }
        self.inner.remote.try_send_with(&to.node, |out| {
            append_send(out, to.id, None, tag_of(M::TAG), &msg).map_err(|e| SendError::Encode(e.to_string()))
        })
    }

    /// Like [`Actors::send`], but waits instead of failing with `MailboxFull` (a local
    /// actor) or `LinkBusy` (a remote one): for room in the mailbox, or for the link to the
    /// actor's node to drain. A remote actor's full mailbox is still refused on its node, as
    /// with `send`. Fails at once for a pid of the wrong message type, or a node not linked.
    pub async fn send_wait<M: RemoteMessage>(&self, to: &Pid, msg: M) -> Result<(), SendError> {
        if to.node == self.inner.local {
            let cell = self.cell(to.id).ok_or(SendError::NoProc)?;
            return cell.inbox.send_any_wait(Box::new(msg)).await;
        }
        self.inner
            .remote
            .send_wait_with(&to.node, |out| {
                append_send(out, to.id, None, tag_of(M::TAG), &msg)
                    .map_err(|e| SendError::Encode(e.to_string()))
            })
            .await
    }

    /// Calls the actor at `to` with `request` and waits at most `timeout` for its reply.
    /// A remote call waits, within the same timeout, while the link to the actor's node is
    /// busy (see [`crate::NodeConfig::link_busy_limit`]); a local one fails at once on a
    /// full mailbox.
    pub async fn call<Q: RemoteMessage, R: RemoteMessage>(
        &self,
        to: &Pid,
        request: Q,
        timeout: Duration,
    ) -> Result<R, CallError> {
        if to.node == self.inner.local {
            return self.call_local(to, request, timeout).await;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let encode = |call, out: &mut Vec<u8>| {
            append_call(out, to.id, call, tag_of(Q::TAG), &request)
                .map_err(|e| SendError::Encode(e.to_string()))
        };
        let remote = &self.inner.remote;
        // Tried here first rather than only through `request_wait`: a call that need not wait
        // then sets up no second timer.
        let (call, answer) = match remote.request(Lane::User, &to.node, encode) {
            Err(SendError::LinkBusy { .. }) => {
                tokio::time::timeout_at(deadline, remote.request_wait(&to.node, encode))
                    .await
                    .map_err(|_| CallError::Timeout(timeout))??
            }
            sent => sent?,
        };
        let answer = tokio::time::timeout_at(deadline, answer).await;
        match answer {
            Err(_) => {
                self.inner.remote.forget(call);
                Err(CallError::Timeout(timeout))
            }
            Ok(Ok(Answer::Reply(Ok((tag, body))))) if tag == tag_of(R::TAG) => {
                body::decode(&body).map_err(CallError::BadReply)
            }
            Ok(Ok(Answer::Reply(Ok(_)))) => {
                Err(CallError::BadReply(format!("the reply is not a `{}`", R::TAG)))
            }
            Ok(Ok(Answer::Reply(Err(refusal)))) => Err(refusal.into()),
            Ok(Ok(_) | Err(_)) => Err(CallError::NodeDown(to.node.name.clone())),
        }
    }

    async fn call_local<Q: Send + 'static, R: Send + 'static>(
        &self,
        to: &Pid,
        request: Q,
        timeout: Duration,
    ) -> Result<R, CallError> {
        let cell = self.cell(to.id).ok_or(SendError::NoProc)?;
        let (tx, rx) = oneshot::channel::<Result<R, CallError>>();
        cell.inbox.call_any(Box::new(request), Box::new(tx))?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(CallError::Stopped(cell.exit_reason())),
            Err(_) => Err(CallError::Timeout(timeout)),
        }
    }

    /// Watches `pid` from outside any actor: the future resolves once, with the reason it
    /// stopped (`NoProc` if it did not exist, `NodeDown` if its node went down).
    pub fn monitor(&self, pid: &Pid) -> DownFuture {
        let (tx, rx) = oneshot::channel();
        let monitor = self.next_ref();
        self.monitor_with(Watcher::Channel { monitor, tx }, pid);
        DownFuture { rx }
    }

    /// Stops a local actor at once, even in the middle of a handler, with reason `Killed`
    /// (it cannot trap this, and its `stopping` hook does not run).
    pub fn kill(&self, pid: &Pid) -> Result<(), SendError> {
        if pid.node != self.inner.local {
            return Err(SendError::NoProc);
        }
        self.cell(pid.id).ok_or(SendError::NoProc)?.kill();
        Ok(())
    }

    /// Asks a local actor to stop with `reason` after its current message (its `stopping`
    /// hook runs).
    pub fn stop(&self, pid: &Pid, reason: ExitReason) -> Result<(), SendError> {
        self.signal_local(pid, SysSignal::Stop(reason))
    }

    fn signal_local(&self, pid: &Pid, signal: SysSignal) -> Result<(), SendError> {
        if pid.node != self.inner.local {
            return Err(SendError::NoProc);
        }
        self.cell(pid.id).ok_or(SendError::NoProc)?.signal(signal);
        Ok(())
    }

    /// A snapshot of every local actor, by id.
    pub fn list(&self) -> Vec<ActorInfo> {
        let mut infos: Vec<ActorInfo> = self
            .table_read()
            .values()
            .filter(|c| c.admits())
            .map(|c| ActorInfo::of(c))
            .collect();
        infos.sort_by_key(|i| i.pid.id);
        infos
    }

    /// A snapshot of the local actor with this id.
    pub fn info(&self, id: u64) -> Option<ActorInfo> {
        self.cell(id).map(|c| ActorInfo::of(&c))
    }

    /// The view of a local actor's state ([`Actor::state_view`]), read on the actor's own
    /// task between two messages, like Erlang's `:sys.get_state`. Waits at most `timeout`
    /// for the actor to get to it.
    pub async fn state_view(&self, pid: &Pid, timeout: Duration) -> Result<serde_json::Value, StateError> {
        let (reply, view) = oneshot::channel();
        self.signal_local(pid, SysSignal::ReadState { reply })
            .map_err(|_| StateError::NoProc)?;
        match tokio::time::timeout(timeout, view).await {
            Ok(Ok(Some(view))) => Ok(view),
            Ok(Ok(None)) => Err(StateError::NotExposed),
            // The actor stopped before it got to the request.
            Ok(Err(_)) => Err(StateError::NoProc),
            Err(_) => Err(StateError::Busy(timeout)),
        }
    }

    /// How many actors run on this node.
    pub fn count(&self) -> usize {
        self.table_read().len()
    }

    /// Sends the JSON form of a message to a local actor that accepts JSON
    /// ([`Actor::json`]). Fails at once, and delivers nothing, when there is no such actor on
    /// this node (`NoProc`; a pid of another node too), when it does not accept JSON, when
    /// `msg` does not decode as its `Msg`, or when its mailbox is full.
    pub fn send_json(&self, to: &Pid, msg: Value) -> Result<(), JsonError> {
        if to.node != *self.node() {
            return Err(JsonError::NoProc);
        }
        self.cell(to.id).ok_or(JsonError::NoProc)?.inbox.send_json(msg)
    }

    /// Calls a local actor that accepts JSON with the JSON form of its `Call` and waits at
    /// most `timeout` for the reply, as JSON. Fails as [`Actors::send_json`] does before
    /// delivery; after it, with [`JsonError::Call`] (a timeout, the actor stopping first, a
    /// reply that does not encode).
    pub async fn call_json(&self, to: &Pid, call: Value, timeout: Duration) -> Result<Value, JsonError> {
        if to.node != *self.node() {
            return Err(JsonError::NoProc);
        }
        let cell = self.cell(to.id).ok_or(JsonError::NoProc)?;
        let (tx, rx) = oneshot::channel();
        cell.inbox.call_json(call, tx)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result.map_err(JsonError::Call),
            Ok(Err(_)) => Err(JsonError::Call(CallError::Stopped(cell.exit_reason()))),
            Err(_) => Err(JsonError::Call(CallError::Timeout(timeout))),
        }
    }

    /// Asks the local actor `pid` (started from `factory`) for its state and stops it.
    /// `None` if the factory's actors cannot hand off, or the actor had stopped already.
    pub(crate) async fn hand_off(&self, pid: &Pid, factory: &str) -> Option<Vec<u8>> {
        let extract = self.factory_extract(factory)?;
        let cell = self.cell(pid.id).filter(|_| pid.node == *self.node())?;
        let (reply, state) = oneshot::channel();
        cell.signal(SysSignal::HandOff { extract, reply });
        state.await.ok().flatten()
    }

    pub(crate) fn next_ref(&self) -> MonitorRef {
        MonitorRef(self.inner.next_ref.fetch_add(1, Ordering::Relaxed))
    }

    /// The local actor `id`, unless it stopped or its fence lapsed.
    pub(crate) fn cell(&self, id: u64) -> Option<Arc<Cell>> {
        self.table_read().get(&id).filter(|c| c.admits()).cloned()
    }

    /// Whether the local actor `id` runs (no clone of its cell).
    pub(crate) fn is_running(&self, id: u64) -> bool {
        self.table_read().get(&id).is_some_and(|c| c.admits())
    }

    /// Fences the local actor `pid`: from now on it acts only while `fence` holds.
    pub(crate) fn fence(&self, pid: &Pid, fence: Arc<super::Fence>) {
        if let Some(cell) = self.cell(pid.id) {
            cell.set_fence(fence);
        }
    }

    fn table_read(&self) -> std::sync::RwLockReadGuard<'_, ActorTable> {
        self.inner
            .table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn table_write(&self) -> std::sync::RwLockWriteGuard<'_, ActorTable> {
        self.inner
            .table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn cells(&self) -> Vec<Arc<Cell>> {
        self.table_read().values().cloned().collect()
    }
}

/// Resolves with the reason a monitored actor stopped (see [`Actors::monitor`]).
pub struct DownFuture {
    rx: oneshot::Receiver<ExitReason>,
}

impl Future for DownFuture {
    type Output = ExitReason;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ExitReason> {
        // The sender is dropped without a value only if the node stopped: say so.
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(ExitReason::Shutdown))
    }
}
