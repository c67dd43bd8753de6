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
mod behaviour;
mod body;
mod cell;
mod cells;
mod codec;
mod counter;
mod echo;
mod envelope;
mod error;
mod extract;
mod factory;
mod fence;
mod handoff;
mod inbound;
mod inbox;
mod info;
mod json;
mod mailbox;
mod message_counters;
mod options;
mod remote;
mod reply;
mod run;
mod signal;
mod spawn;
mod status;
mod supervisor;
mod system;
mod watch;
mod watcher;

pub use self::actor_ref::ActorRef;
pub use self::behaviour::{Actor, Ctx};
pub(crate) use self::cell::SysSignal;
pub(crate) use self::cells::Cells;
pub use self::codec::Codec;
pub use self::counter::{COUNTER_FACTORY, Counter, CounterArgs, CounterGet, CounterMsg};
pub use self::echo::{ECHO_FACTORY, ECHO_SIZED_FACTORY, Echo, EchoCall, EchoMsg, EchoReply};
pub use self::error::{ActorError, CallError, JsonError, SendError, SpawnError, StateError};
pub(crate) use self::fence::Fence;
pub use self::handoff::Handoff;
pub use self::info::{ActorInfo, ActorRelations};
pub use self::json::JsonCodec;
pub(crate) use self::message_counters::MessageCounters;
pub use self::options::SpawnOptions;
pub(crate) use self::remote::{Remote, Route, append_message};
pub(crate) use self::reply::Origin;
pub use self::signal::{MonitorRef, Signal};
pub use self::status::ActorStatus;
pub use self::supervisor::{
    ChildInfo, ChildSpec, Children, ECHO_SUPERVISOR_FACTORY, EchoSupervisorArgs, Restart, Strategy,
    Supervisor, SupervisorCall,
};
pub use self::system::{Actors, DownFuture};
pub use crate::registry::{ConflictPolicy, GroupEvent};
pub use shoal_proto::{
    ExitReason, Never, Pid, Refusal, RegisterError, Registration, RemoteMessage, SpawnRefusal,
};
