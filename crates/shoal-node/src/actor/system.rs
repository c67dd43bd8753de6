//! `Actors`: a node's actor table and the operations that need it (spawn, send and call by
//! pid, monitors, links, kill, introspection). Remote traffic is in `remote.rs`, factories in
//! `factory.rs`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use shoal_proto::{
    ActorFrame, Creation, LinkMessage, NodeId, NodeName, RegisterError, Registration, RemoteMessage,
    SpawnRefusal, append_call, append_send, tag_of,
};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::body;
use super::cell::{Cell, Inbox, Meta, SysSignal};
use super::cells::Cells;
use super::extract::Extract;
use super::factory::Factories;
use super::info::{ActorInfo, ActorRelations};
use super::remote::{Answer, Lane, Remote, append_message};
use super::watcher::Watcher;
use super::{CallError, ExitReason, JsonError, MonitorRef, Pid, SendError, SpawnError, StateError};
use crate::history::History;
use crate::registry::{ConflictPolicy, GroupEvent, RegistryService};
use shoal_api::views::EventKind;

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

pub(crate) struct SystemInner {
    pub(crate) local: NodeId,
    cells: Arc<Cells>,
    next_ref: AtomicU64,
    pub(crate) remote: Arc<Remote>,
    pub(crate) factories: Factories,
    registry: RegistryService,
    history: Arc<History>,
    pub(crate) counters: ActorCounters,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

/// The actors of one node: spawn, send, call, monitor, kill, inspect. Clones share the table;
/// get it from [`crate::Node::actors`] or [`Ctx::actors`](super::Ctx::actors).
#[derive(Clone)]
pub struct Actors {
    pub(crate) inner: Arc<SystemInner>,
}

impl Actors {
    pub(crate) fn new(local: NodeId, cancel: CancellationToken, tracker: TaskTracker) -> Self {
        let cells = Arc::new(Cells::default());
        let remote = Arc::new(Remote::default());
        let history = Arc::new(History::new(local.name.to_string(), local.creation.0));
        Self {
            inner: Arc::new(SystemInner {
                local: local.clone(),
                registry: RegistryService::new(local.clone(), cells.clone(), remote.clone(), history.clone()),
                history,
                cells,
                next_ref: AtomicU64::new(1),
                remote,
                factories: Factories::default(),
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

    /// The node's registry service (replication, link events, actor exits).
    pub(crate) fn registry(&self) -> &RegistryService {
        &self.inner.registry
    }

    /// The node's bounded history of events and samples.
    pub fn history(&self) -> &Arc<History> {
        &self.inner.history
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
        let parent = meta.parent.clone();
        let halt = self.inner.cancel.child_token();
        let local = self.inner.local.clone();
        let cell = self
            .inner
            .cells
            .insert(|id, messages| Cell::new(Pid::new(local, id), meta, signals, inbox, halt, messages));
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
        let messages = self.inner.cells.messages();
        if to.node == self.inner.local {
            return self
                .cell(to.id)
                .ok_or(SendError::NoProc)
                .and_then(|cell| cell.inbox.send_any(Box::new(msg)))
                .inspect_err(|e| messages.count_local_refusal(e));
        }
        self.inner
            .remote
            .try_send_with(&to.node, |out| {
                append_send(out, to.id, None, tag_of(M::TAG), &msg)
                    .map_err(|e| SendError::Encode(e.to_string()))
            })
            .inspect_err(|e| messages.count_remote_refusal(e))
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
        let started = Instant::now();
        let messages = self.inner.cells.messages();
        if to.node == self.inner.local {
            let result = self.call_local(to, request, timeout).await;
            messages.count_local_call(started.elapsed(), &result);
            return result;
        }
        let result = self.call_remote(to, request, timeout).await;
        messages.count_remote_call(started.elapsed(), &result);
        result
    }

    async fn call_remote<Q: RemoteMessage, R: RemoteMessage>(
        &self,
        to: &Pid,
        request: Q,
        timeout: Duration,
    ) -> Result<R, CallError> {
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
        let detail = format!("actor {pid} was killed");
        self.inner
            .history
            .record(EventKind::ActorKilled, pid.to_string(), None, detail);
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
        let mut infos: Vec<ActorInfo> = self.inner.cells.each_admitted(|c| ActorInfo::of(c));
        infos.sort_by_key(|i| i.pid.id);
        infos
    }

    /// A snapshot of the local actor with this id.
    pub fn info(&self, id: u64) -> Option<ActorInfo> {
        self.cell(id).map(|c| ActorInfo::of(&c))
    }

    /// The links and monitors of the local actor with this id.
    pub fn relations(&self, id: u64) -> Option<ActorRelations> {
        self.cell(id).map(|c| ActorRelations::of(&c, &self.inner.local))
    }

    /// The view of a local actor's state ([`Actor::state_view`](super::Actor::state_view)), read on the actor's own
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
        self.inner.cells.len()
    }

    /// Sends the JSON form of a message to a local actor that accepts JSON
    /// ([`Actor::json`](super::Actor::json)). Fails at once, and delivers nothing, when there is no such actor on
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
        self.inner.cells.get(id)
    }

    /// The table of local actors.
    pub(crate) fn cells(&self) -> &Cells {
        &self.inner.cells
    }

    /// Fences the local actor `pid`: from now on it acts only while `fence` holds.
    pub(crate) fn fence(&self, pid: &Pid, fence: Arc<super::Fence>) {
        if let Some(cell) = self.cell(pid.id) {
            cell.set_fence(fence);
        }
    }

    /// The names of the registered factories, sorted.
    pub fn factories(&self) -> Vec<String> {
        self.inner.factories.names()
    }

    /// Whether a factory `name` is registered here.
    pub fn has_factory(&self, name: &str) -> bool {
        self.inner.factories.contains(name)
    }

    /// Spawns an actor from this node's factory `name` with encoded `args`.
    pub(crate) fn spawn_factory(&self, name: &str, args: &[u8]) -> Result<Pid, SpawnRefusal> {
        self.inner.factories.spawn(self, name, args, None)
    }

    /// Spawns an actor from factory `name`, from a handed-off `state` if the factory's
    /// actors take one (others ignore it).
    pub(crate) fn spawn_factory_with_state(
        &self,
        name: &str,
        args: &[u8],
        state: Option<&[u8]>,
    ) -> Result<Pid, SpawnRefusal> {
        self.inner.factories.spawn(self, name, args, state)
    }

    /// The state extractor of factory `name`, if its actors hand off.
    pub(crate) fn factory_extract(&self, name: &str) -> Option<Extract> {
        self.inner.factories.extract(name)
    }

    /// Starts an actor on `node` from its factory `factory` with `args`, waiting at most
    /// `timeout` for the pid. `node` may be this node.
    pub async fn spawn_remote<Args: Serialize>(
        &self,
        node: &NodeName,
        factory: &str,
        args: &Args,
        timeout: Duration,
    ) -> Result<Pid, SpawnError> {
        let args = postcard::to_stdvec(args).map_err(|e| SpawnError::Encode(e.to_string()))?;
        if *node == self.node().name {
            return Ok(self.spawn_factory(factory, &args)?);
        }
        let id = self
            .inner
            .remote
            .route_id(node)
            .ok_or_else(|| SpawnError::NodeDown(node.clone()))?;
        let encode = |request, out: &mut Vec<u8>| {
            let args = args.into();
            let factory = factory.to_owned();
            let frame = ActorFrame::Spawn {
                request,
                factory,
                args,
            };
            append_message(&LinkMessage::Actor(frame))(out)
        };
        let (request, answer) =
            self.inner
                .remote
                .request(Lane::Control, &id, encode)
                .map_err(|e| match e {
                    SendError::Encode(e) => SpawnError::Encode(e),
                    _ => SpawnError::NodeDown(node.clone()),
                })?;
        match tokio::time::timeout(timeout, answer).await {
            Err(_) => {
                self.inner.remote.forget(request);
                Err(SpawnError::Timeout(timeout))
            }
            Ok(Ok(Answer::Spawned(Ok(actor)))) => Ok(Pid::new(id, actor)),
            Ok(Ok(Answer::Spawned(Err(refusal)))) => Err(refusal.into()),
            Ok(Ok(_) | Err(_)) => Err(SpawnError::NodeDown(node.clone())),
        }
    }

    /// Registers `name` for the local actor `pid` cluster-wide, with the default conflict
    /// policy (stop the loser). Fails with `AlreadyRegistered(holder)` if any node's view
    /// already has the name; the name drops when the actor stops or its node goes down.
    pub fn register(&self, name: &str, pid: &Pid) -> Result<(), RegisterError> {
        self.register_with(name, pid, ConflictPolicy::Stop)
    }

    /// Like [`Actors::register`], with a conflict policy.
    pub fn register_with(&self, name: &str, pid: &Pid, policy: ConflictPolicy) -> Result<(), RegisterError> {
        self.inner.registry.register(name, pid, policy)
    }

    /// Drops this node's registration of `name`; returns the actor that held it.
    pub fn unregister(&self, name: &str) -> Option<Pid> {
        self.inner.registry.unregister(name)
    }

    /// The actor registered under `name`, from this node's replica (no network).
    pub fn whereis(&self, name: &str) -> Option<Pid> {
        self.inner.registry.whereis(name)
    }

    /// Every registered name and its registration, sorted by name.
    pub fn registered(&self) -> Vec<(String, Registration)> {
        self.inner.registry.registered()
    }

    /// How many names this node's view holds.
    pub fn registered_count(&self) -> usize {
        self.inner.registry.registered_count()
    }

    /// Adds the actor `pid` (of this node) to process group `group` cluster-wide. A member
    /// leaves when it stops or its node goes down.
    pub fn join(&self, group: &str, pid: &Pid) -> Result<(), RegisterError> {
        self.inner.registry.join(group, pid)
    }

    /// Removes `pid` from `group`; returns whether it was a member (through this node).
    pub fn leave(&self, group: &str, pid: &Pid) -> bool {
        self.inner.registry.leave(group, pid)
    }

    /// The members of `group` on every node, sorted, from this node's view.
    pub fn group_members(&self, group: &str) -> Vec<Pid> {
        self.inner.registry.group_members(group)
    }

    /// The members of `group` on this node.
    pub fn local_group_members(&self, group: &str) -> Vec<Pid> {
        let mut members = self.group_members(group);
        members.retain(|p| p.node == self.inner.local);
        members
    }

    /// How many members `group` has, from this node's view.
    pub fn group_size(&self, group: &str) -> usize {
        self.inner.registry.group_size(group)
    }

    /// Every group with its member count, sorted by name.
    pub fn groups(&self) -> Vec<(String, usize)> {
        self.inner.registry.groups()
    }

    /// Group changes from now on (joins, and leaves including stops and node downs). A
    /// receiver 4096 events behind skips ahead (`Lagged`); read [`Actors::group_members`]
    /// then.
    pub fn subscribe_groups(&self) -> broadcast::Receiver<GroupEvent> {
        self.inner.registry.subscribe_groups()
    }

    /// Sends `msg` to the actor registered under `name` (`NoProc` if none is).
    pub fn send_named<M: RemoteMessage>(&self, name: &str, msg: M) -> Result<(), SendError> {
        let pid = self.whereis(name).ok_or(SendError::NoProc)?;
        self.send(&pid, msg)
    }

    /// Calls the actor registered under `name`.
    pub async fn call_named<Q: RemoteMessage, R: RemoteMessage>(
        &self,
        name: &str,
        request: Q,
        timeout: Duration,
    ) -> Result<R, CallError> {
        let pid = self.whereis(name).ok_or(SendError::NoProc)?;
        self.call(&pid, request, timeout).await
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
