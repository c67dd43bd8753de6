//! The actor runtime: actors with a bounded mailbox and a priority lane for system signals,
//! addressed by a [`Pid`] that works from any node; send, call with a timeout, monitors and
//! links across nodes, local supervisors, named factories for remote spawn, and introspection.
//!
//! ```no_run
//! use std::time::Duration;
//! use shoal_node::actor::{Actor, ActorError, Ctx};
//!
//! struct Counter(u64);
//!
//! impl Actor for Counter {
//!     type Msg = u64;
//!     type Call = ();
//!     type Reply = u64;
//!
//!     async fn handle(&mut self, _ctx: &mut Ctx<Self>, n: u64) -> Result<(), ActorError> {
//!         self.0 += n;
//!         Ok(())
//!     }
//!
//!     async fn handle_call(&mut self, _ctx: &mut Ctx<Self>, (): ()) -> Result<u64, ActorError> {
//!         Ok(self.0)
//!     }
//! }
//!
//! # async fn demo(node: shoal_node::Node) -> Result<(), Box<dyn std::error::Error>> {
//! let counter = node.actors().spawn(Counter(0));
//! counter.send(2)?;
//! assert_eq!(counter.call((), Duration::from_secs(1)).await?, 2);
//! # Ok(()) }
//! ```
//!
//! # Mailboxes
//! A mailbox holds [`SpawnOptions::capacity`] messages (default 1024). A local `send` into a
//! full mailbox fails at once with [`SendError::MailboxFull`] (use [`ActorRef::send_wait`] to
//! wait for room instead). A message from another node that finds the mailbox full is dropped,
//! counted, and answered with a refusal: a call fails with `MailboxFull`, a send is counted
//! on the sending node. The link reader never waits for a mailbox, so one slow actor cannot
//! stall a link for the others. System signals (stop, kill, exits, `Down`) use a separate,
//! unbounded lane and are handled before ordinary messages.
//!
//! # Ordering
//! Messages from one sender to one receiver arrive in the order sent while the link between
//! their nodes stays up (one TCP link per node pair and one queue per link). Messages sent
//! while no link is up fail with `NodeDown`; nothing is buffered for a later link.

mod actor_ref;
mod cell;
mod codec;
mod context;
mod counter;
mod echo;
mod error;
mod factory;
mod fence;
mod handoff;
mod info;
mod json;
mod mailbox;
mod registry;
mod remote;
mod run;
mod supervisor;
mod system;
mod watch;

use std::fmt;
use std::future::Future;

pub use self::actor_ref::ActorRef;
pub use self::codec::Codec;
pub use self::context::Ctx;
pub use self::counter::{COUNTER_FACTORY, Counter, CounterArgs, CounterGet, CounterMsg};
pub use self::echo::{ECHO_FACTORY, ECHO_SIZED_FACTORY, Echo, EchoCall, EchoMsg, EchoReply};
pub use self::error::{CallError, JsonError, SendError, SpawnError, StateError};
pub(crate) use self::fence::Fence;
pub use self::handoff::Handoff;
pub use self::info::{ActorInfo, ActorStatus};
pub use self::json::JsonCodec;
pub use self::registry::{ConflictPolicy, GroupEvent};
pub(crate) use self::remote::{Origin, Route, append_message};
pub use self::supervisor::{
    ChildInfo, ChildSpec, Children, ECHO_SUPERVISOR_FACTORY, EchoSupervisorArgs, Restart, Strategy,
    Supervisor, SupervisorCall,
};
pub(crate) use self::system::ActorCounters;
pub use self::system::{Actors, DownFuture, SpawnOptions};
pub use shoal_proto::{
    ExitReason, Never, Pid, Refusal, RegisterError, Registration, RemoteMessage, SpawnRefusal,
};

/// An actor: state plus handlers that run one message at a time.
///
/// A handler that returns an error, or panics, stops the actor with reason
/// [`ExitReason::Error`] or [`ExitReason::Panic`]; its monitors, links and supervisor see that.
/// Application-level failures a caller should handle belong in `Reply` instead.
pub trait Actor: Sized + Send + 'static {
    /// One-way messages.
    type Msg: Send + 'static;
    /// Requests answered with a `Reply` (use [`Never`] when the actor takes no calls).
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

    /// Runs once when the actor stops for any reason but `Killed`.
    fn stopping(&mut self, ctx: &mut Ctx<Self>, reason: &ExitReason) -> impl Future<Output = ()> + Send {
        let _ = (ctx, reason);
        async {}
    }

    /// A readable view of the state, for operators and tests: what
    /// [`Actors::state_view`] and `GET /api/actors/{pid}/state` show, like Erlang's
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

    /// How operators write this actor's messages as JSON: what [`Actors::send_json`],
    /// [`Actors::call_json`], `POST /api/actors/{pid}/send|call`, `shoal send` and
    /// `shoal call` accept. `None` (the default) refuses them; return
    /// `Some(JsonCodec::serde())` to opt in. JSON that does not decode as `Msg` (or `Call`)
    /// is refused with serde's message and never reaches the actor.
    fn json() -> Option<JsonCodec<Self>> {
        None
    }
}

/// A system signal handed to [`Actor::handle_signal`]. More kinds may come: match with a
/// wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal {
    /// A monitored actor stopped (delivered once per monitor).
    Down {
        /// The monitor that fired, as returned by [`Ctx::monitor`].
        monitor: MonitorRef,
        /// The actor that stopped.
        pid: Pid,
        /// Why.
        reason: ExitReason,
    },
    /// A linked actor stopped; delivered only while trapping exits ([`Ctx::trap_exits`]).
    Exit {
        /// The actor that stopped.
        from: Pid,
        /// Why.
        reason: ExitReason,
    },
    /// This actor's registered `name` went to `winner` (policy [`ConflictPolicy::Notify`]).
    NameConflict {
        /// The name it no longer holds.
        name: String,
        /// The actor that holds it now.
        winner: Pid,
    },
}

/// Identifies one monitor, to match its `Down` or cancel it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MonitorRef(pub(crate) u64);

/// Why a handler failed; stops the actor with [`ExitReason::Error`]. Any error type converts
/// into it with `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorError(String);

impl ActorError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ActorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for ActorError {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}
