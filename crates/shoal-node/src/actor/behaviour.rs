//! [`Actor`]: the trait an actor implements (its handlers and optional hooks), and [`Ctx`],
//! what its handlers get besides the message.

use std::future::Future;
use std::sync::Arc;

use super::actor_ref::ActorRef;
use super::cell::Cell;
use super::envelope::Envelope;
use super::options::SpawnOptions;
use super::system::Actors;
use super::watcher::Watcher;
use super::{ActorError, Codec, ExitReason, JsonCodec, MonitorRef, Pid, Signal};

/// What travels in the mailbox of an actor of type `A`.
pub(crate) type Mail<A> = Envelope<<A as Actor>::Msg, <A as Actor>::Call, <A as Actor>::Reply>;

/// An actor: state plus handlers that run one message at a time.
///
/// A handler that returns an error, or panics, stops the actor with reason
/// [`ExitReason::Error`] or [`ExitReason::Panic`]; its monitors, links and supervisor see that.
/// Application-level failures a caller should handle belong in `Reply` instead.
pub trait Actor: Sized + Send + 'static {
    /// One-way messages.
    type Msg: Send + 'static;
    /// Requests answered with a `Reply` (use [`Never`](super::Never) when the actor takes no calls).
    type Call: Send + 'static;
    /// Answers to calls.
    type Reply: Send + 'static;

    /// Runs once before the first message. An error stops the actor.
    fn started(&mut self, ctx: &mut Ctx<Self>) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Handles one message.
    fn handle(
        &mut self,
        ctx: &mut Ctx<Self>,
        msg: Self::Msg,
    ) -> impl Future<Output = Result<(), ActorError>> + Send;

    /// Answers one call. The default refuses, stopping the actor: give actors that take calls
    /// their own handler.
    fn handle_call(
        &mut self,
        ctx: &mut Ctx<Self>,
        call: Self::Call,
    ) -> impl Future<Output = Result<Self::Reply, ActorError>> + Send {
        let _ = (ctx, call);
        async { Err(ActorError::new("this actor takes no calls")) }
    }

    /// A system signal: a monitor's `Down`, or a linked actor's exit while trapping exits.
    /// The default ignores it.
    fn handle_signal(
        &mut self,
        ctx: &mut Ctx<Self>,
        signal: Signal,
    ) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = (ctx, signal);
        async { Ok(()) }
    }

    /// Runs once when the actor stops for any reason but `Killed` or a panic. It does not run
    /// either for a singleton instance stopped because its node's singleton lease lapsed (a
    /// process paused until another node took over): that instance must not act any more.
    fn stopping(&mut self, ctx: &mut Ctx<Self>, reason: &ExitReason) -> impl Future<Output = ()> + Send {
        let _ = (ctx, reason);
        async {}
    }

    /// A readable view of the state, for operators and tests: what
    /// [`Actors::state_view`](super::Actors::state_view) and `GET /api/actors/{pid}/state` show, like Erlang's
    /// `:sys.get_state`. It runs on the actor's own task, between two messages (a signal),
    /// so it sees the state as no handler is changing it. `None`, the default, means the actor
    /// does not expose its state. Keep it cheap: the actor handles nothing while it runs.
    fn state_view(&self) -> Option<serde_json::Value> {
        None
    }

    /// How peers on other nodes encode this actor's messages. `None` (the default) keeps the
    /// actor local; return `Some(Codec::serde())` to accept remote sends and calls.
    fn codec() -> Option<Codec<Self>> {
        None
    }

    /// How operators write this actor's messages as JSON: what [`Actors::send_json`](super::Actors::send_json),
    /// [`Actors::call_json`](super::Actors::call_json), `POST /api/actors/{pid}/send|call`, `shoal send` and
    /// `shoal call` accept. `None` (the default) refuses them; return
    /// `Some(JsonCodec::serde())` to opt in. JSON that does not decode as `Msg` (or `Call`)
    /// is refused with serde's message and never reaches the actor.
    fn json() -> Option<JsonCodec<Self>> {
        None
    }
}

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
