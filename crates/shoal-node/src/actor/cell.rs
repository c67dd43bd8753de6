//! `Cell`: the type-erased record of one running actor, shared by the actor table, its
//! refs and its task: identity, signal lane, inbox, counters, monitors and links. The typed
//! inbox behind it is in `inbox.rs`.

use std::any::Any;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use futures_util::future::BoxFuture;
use shoal_proto::Refusal;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::extract::Extract;
use super::reply::RemoteReply;
use super::status::ActorStatus;
use super::watcher::Watcher;
use super::{CallError, ExitReason, JsonError, MonitorRef, Pid, SendError};

/// Signals on the priority lane; handled before mailbox messages.
#[derive(Debug)]
pub(crate) enum SysSignal {
    /// Stop in an orderly way (the `stopping` hook runs).
    Stop(ExitReason),
    /// A linked actor stopped.
    Exit { from: Pid, reason: ExitReason },
    /// A monitored actor stopped.
    Down {
        monitor: MonitorRef,
        pid: Pid,
        reason: ExitReason,
    },
    /// A registered name of this actor went to another actor.
    NameConflict { name: String, winner: Pid },
    /// Answer with [`Actor::state_view`] and go on (the actor does not stop).
    ///
    /// [`Actor::state_view`]: super::Actor::state_view
    ReadState {
        reply: oneshot::Sender<Option<serde_json::Value>>,
    },
    /// Serialise the state with `extract`, answer with it, then stop with `Shutdown`.
    HandOff {
        extract: Extract,
        reply: oneshot::Sender<Option<Vec<u8>>>,
    },
}

/// Monitors and links of one actor; `dead` is set once, when it stops.
#[derive(Debug, Default)]
pub(crate) struct Watchers {
    pub(crate) dead: Option<ExitReason>,
    pub(crate) monitors: Vec<Watcher>,
    pub(crate) links: HashSet<Pid>,
}

/// Fixed facts about an actor, for introspection.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub(crate) name: Option<String>,
    pub(crate) type_name: &'static str,
    pub(crate) parent: Option<Pid>,
    pub(crate) restarts: u32,
    pub(crate) started_at_us: u64,
    pub(crate) started: Instant,
}

/// The type-erased face of an actor's mailbox.
pub(crate) trait Inbox: Send + Sync {
    /// A local send by pid: `msg` must be the actor's `Msg`.
    fn send_any(&self, msg: Box<dyn Any + Send>) -> Result<(), SendError>;
    /// A local send by pid that waits for room in the mailbox: `msg` must be the actor's `Msg`.
    fn send_any_wait(&self, msg: Box<dyn Any + Send>) -> BoxFuture<'_, Result<(), SendError>>;
    /// A local call by pid: `call` must be the actor's `Call` and `reply` a
    /// `oneshot::Sender<Result<Reply, CallError>>`.
    fn call_any(&self, call: Box<dyn Any + Send>, reply: Box<dyn Any + Send>) -> Result<(), SendError>;
    /// A send from another node.
    fn send_remote(&self, tag: u64, body: &[u8]) -> Result<(), Refusal>;
    /// A call from another node; a refusal is answered through `reply` and returned.
    fn call_remote(&self, tag: u64, body: &[u8], reply: RemoteReply) -> Result<(), Refusal>;
    /// A local send of the JSON form of the actor's `Msg` ([`super::Actor::json`]).
    fn send_json(&self, msg: serde_json::Value) -> Result<(), JsonError>;
    /// A local call with the JSON form of the actor's `Call`; the reply goes to `reply` as
    /// JSON. On an error nothing was queued and `reply` is dropped.
    fn call_json(&self, call: serde_json::Value, reply: JsonReply) -> Result<(), JsonError>;
    /// Messages waiting in the mailbox, and those taken but not handled yet.
    fn depth(&self) -> usize;
}

/// Where the JSON reply of [`Inbox::call_json`] goes.
pub(crate) type JsonReply = oneshot::Sender<Result<serde_json::Value, CallError>>;

/// One running actor.
pub(crate) struct Cell {
    pub(crate) pid: Pid,
    pub(crate) meta: Meta,
    pub(crate) signals: mpsc::UnboundedSender<SysSignal>,
    pub(crate) inbox: Box<dyn Inbox>,
    /// Cancelled to stop the actor at once, even mid-handler: by `kill`, or (as a child of
    /// the node's token) when the node stops.
    pub(crate) halt: CancellationToken,
    killed: AtomicBool,
    /// Set when a signal is queued; lets the actor skip polling the lane between messages.
    signal_waiting: AtomicBool,
    status: AtomicU8,
    handled: AtomicU64,
    dropped: AtomicU64,
    watchers: Mutex<Watchers>,
    /// The lease this actor needs to act, if any ([`super::Fence`]).
    fence: OnceLock<Arc<super::Fence>>,
    /// The node's message counters (refusals and call latency through [`super::ActorRef`]).
    pub(crate) messages: Arc<super::MessageCounters>,
}

impl Cell {
    pub(crate) fn new(
        pid: Pid,
        meta: Meta,
        signals: mpsc::UnboundedSender<SysSignal>,
        inbox: Box<dyn Inbox>,
        halt: CancellationToken,
        messages: Arc<super::MessageCounters>,
    ) -> Self {
        Self {
            pid,
            meta,
            signals,
            inbox,
            halt,
            killed: AtomicBool::new(false),
            signal_waiting: AtomicBool::new(false),
            status: AtomicU8::new(ActorStatus::Starting as u8),
            handled: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            watchers: Mutex::new(Watchers::default()),
            fence: OnceLock::new(),
            messages,
        }
    }

    /// From now on the actor acts only while `fence` holds (a second fence is ignored).
    pub(crate) fn set_fence(&self, fence: Arc<super::Fence>) {
        let _ = self.fence.set(fence);
    }

    /// Whether the actor may act: always, unless its fence lapsed; then this halts it (with
    /// `Shutdown`), so it is neither found nor listed, and handles nothing more.
    pub(crate) fn admits(&self) -> bool {
        match self.fence.get() {
            Some(fence) if !fence.holds() => {
                self.halt.cancel();
                false
            }
            _ => true,
        }
    }

    /// Puts a signal on the priority lane (a no-op once the actor has stopped).
    pub(crate) fn signal(&self, signal: SysSignal) {
        if self.signals.send(signal).is_ok() {
            self.signal_waiting.store(true, Ordering::Release);
        }
    }

    /// Whether a signal was queued since the last call; the actor then drains its lane. A
    /// signal that the lane's own wake-up delivered first may still report here once.
    pub(crate) fn take_signal_waiting(&self) -> bool {
        self.signal_waiting.load(Ordering::Relaxed) && self.signal_waiting.swap(false, Ordering::Acquire)
    }

    /// Stops the actor at once with `Killed`; it cannot trap this and `stopping` does not run.
    pub(crate) fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.halt.cancel();
    }

    /// Why `halt` fired: a kill, or the node stopping.
    pub(crate) fn halt_reason(&self) -> ExitReason {
        if self.killed.load(Ordering::Relaxed) {
            ExitReason::Killed
        } else {
            ExitReason::Shutdown
        }
    }

    pub(crate) fn watchers(&self) -> MutexGuard<'_, Watchers> {
        // A panic while holding this lock leaves plain data behind; keep using it.
        self.watchers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Why the actor stopped (`Shutdown` if it has not recorded a reason).
    pub(crate) fn exit_reason(&self) -> ExitReason {
        self.watchers().dead.clone().unwrap_or(ExitReason::Shutdown)
    }

    pub(crate) fn set_status(&self, status: ActorStatus) {
        self.status.store(status as u8, Ordering::Relaxed);
    }

    pub(crate) fn status(&self) -> ActorStatus {
        ActorStatus::from_u8(self.status.load(Ordering::Relaxed))
    }

    /// Counts one handled message. Only the actor's own task calls this, so a plain store
    /// (no read-modify-write) is enough.
    pub(crate) fn count_handled(&self) {
        self.handled
            .store(self.handled.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    pub(crate) fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }

    pub(crate) fn count_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
