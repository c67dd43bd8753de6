//! The actor plane on a link: process ids, exit reasons and the frames that carry sends,
//! calls, monitors, links and remote spawns between nodes (docs/architecture.md, "Actors and
//! a remote send", follows one send through them).
//!
//! Frames name actors by their local id only: the link already says which node each end is,
//! and the sender checks a [`Pid`]'s creation against the linked peer before sending.

mod fast;

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::node_id::NodeId;

pub use self::fast::{HotFrame, append_call, append_send, decode_hot, encode_call, encode_send};

/// A process id that works from any node: the node's identity (name and creation) plus the
/// actor's id on that node. A pid of an older life of a node never reaches a newer one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pid {
    /// The node the actor runs on.
    pub node: NodeId,
    /// The actor's id on that node, never reused while the node runs.
    pub id: u64,
}

impl Pid {
    /// Builds a pid from its parts.
    pub fn new(node: NodeId, id: u64) -> Self {
        Self { node, id }
    }
}

impl fmt::Display for Pid {
    /// `<id>@<node name>`, e.g. `42@n1` (the creation is left out; see `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.node.name)
    }
}

/// Why an actor stopped. Monitors receive it in `Down`; links propagate it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExitReason {
    /// The actor finished on purpose. Links do not propagate it (unless trapped).
    Normal,
    /// Its supervisor or node stopped it in an orderly way.
    Shutdown,
    /// Killed from outside (`kill`, the HTTP API); cannot be trapped.
    Killed,
    /// A hook returned an error.
    Error(String),
    /// A hook panicked; the text is the panic message.
    Panic(String),
    /// The pid did not exist (or no longer did) when it was monitored or linked.
    NoProc,
    /// The actor's node went down or became unreachable.
    NodeDown,
    /// A supervisor gave up: its children failed more often than its restart intensity.
    MaxRestarts,
    /// The actor's registered name went to another actor when a partition healed (the
    /// registry's conflict rule picked `winner`).
    NameConflict {
        /// The actor that holds the name now.
        winner: Pid,
    },
}

impl ExitReason {
    /// Whether this exit is an ordinary end (`Normal` or `Shutdown`) rather than a failure.
    /// Transient children are restarted only after a failure.
    pub fn is_normal(&self) -> bool {
        matches!(self, Self::Normal | Self::Shutdown)
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal => f.write_str("normal"),
            Self::Shutdown => f.write_str("shutdown"),
            Self::Killed => f.write_str("killed"),
            Self::Error(e) => write!(f, "error: {e}"),
            Self::Panic(e) => write!(f, "panic: {e}"),
            Self::NoProc => f.write_str("no such actor"),
            Self::NodeDown => f.write_str("node down"),
            Self::MaxRestarts => f.write_str("restart intensity exceeded"),
            Self::NameConflict { winner } => write!(f, "name conflict, won by {winner}"),
        }
    }
}

/// Why a node refused a remote send or call. The sender's node counts it and, for a call,
/// hands it to the caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// No actor with that id runs on the receiving node.
    #[error("no such actor on the receiving node")]
    NoProc,
    /// The actor does not accept messages from other nodes (its `codec()` is `None`).
    #[error("the actor does not accept remote messages; give it a codec")]
    NotRemote,
    /// The message's type tag is not the one the actor expects.
    #[error("wrong message type: the actor expects `{expected}`")]
    WrongType {
        /// The tag name the actor expects.
        expected: String,
    },
    /// The body did not decode as the expected type.
    #[error("message body does not decode: {0}")]
    BadBody(String),
    /// The actor's mailbox was full; the message was dropped.
    #[error("mailbox full; message dropped")]
    MailboxFull,
    /// The actor stopped before it answered the call.
    #[error("the actor stopped before replying: {0}")]
    Stopped(ExitReason),
    /// The actor's reply did not encode.
    #[error("reply does not encode: {0}")]
    BadReply(String),
}

/// Why a node refused to spawn an actor from a named factory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum SpawnRefusal {
    /// No factory of that name is registered on the node.
    #[error("no factory named `{0}` on that node; register it on every node")]
    UnknownFactory(String),
    /// The arguments did not decode as the factory's argument type.
    #[error("bad arguments for the factory: {0}")]
    BadArgs(String),
    /// The factory, or the actor's start hook, failed.
    #[error("the actor failed to start: {0}")]
    Failed(String),
}

/// One actor-plane frame with owned payloads. New variants go at the end of
/// [`ActorFrameOf`].
pub type ActorFrame = ActorFrameOf<Bytes>;

/// One actor-plane frame, generic over how its byte payloads are held: `Bytes` (owned, or
/// shared with the read buffer) or `&[u8]` (borrowed while decoding, without a copy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActorFrameOf<B> {
    /// A one-way message to actor `to`, from actor `from` when the sender is an actor.
    Send {
        /// Receiving actor.
        to: u64,
        /// Sending actor, if any.
        from: Option<u64>,
        /// Stable type tag of the body ([`tag_of`]).
        tag: u64,
        /// The message, encoded by its own codec.
        body: B,
    },
    /// A request; answered with one `Reply` carrying the same `call` number.
    Call {
        /// Receiving actor.
        to: u64,
        /// Caller-chosen number, unique per link direction.
        call: u64,
        /// Stable type tag of the request.
        tag: u64,
        /// The request.
        body: B,
    },
    /// The answer to a `Call`.
    Reply {
        /// The call being answered.
        call: u64,
        /// Tag and body of the reply, or why there is none.
        result: Result<(u64, B), Refusal>,
    },
    /// A `Send` was refused (the sender's node counts and logs it).
    Refused {
        /// The addressed actor.
        to: u64,
        /// Why.
        why: Refusal,
    },
    /// Watch actor `target`: answer with one `Down` under `monitor` when it stops.
    Monitor {
        /// Monitor reference chosen by the watching node.
        monitor: u64,
        /// The watched actor on the receiving node.
        target: u64,
    },
    /// Cancel a `Monitor`.
    Demonitor {
        /// The monitor to drop.
        monitor: u64,
        /// The watched actor on the receiving node.
        target: u64,
    },
    /// The target of `monitor` stopped (or never existed: `NoProc`).
    Down {
        /// The monitor that fired.
        monitor: u64,
        /// Why the target stopped.
        reason: ExitReason,
    },
    /// Link actor `from` (on the sender) with actor `to` (on the receiver).
    Link {
        /// The sender's actor.
        from: u64,
        /// The receiver's actor.
        to: u64,
    },
    /// Remove a link made by `Link`.
    Unlink {
        /// The sender's actor.
        from: u64,
        /// The receiver's actor.
        to: u64,
    },
    /// Linked actor `from` (on the sender) stopped; deliver the exit to `to`.
    Exit {
        /// The actor that stopped.
        from: u64,
        /// The linked actor on the receiver.
        to: u64,
        /// Why it stopped.
        reason: ExitReason,
    },
    /// Start an actor from the named factory; answer with `Spawned`.
    Spawn {
        /// Request number, unique per link direction.
        request: u64,
        /// Factory name.
        factory: String,
        /// Arguments, encoded by the caller.
        args: B,
    },
    /// The answer to `Spawn`: the new actor's id on the answering node.
    Spawned {
        /// The request being answered.
        request: u64,
        /// The new actor's id, or why none was started.
        result: Result<u64, SpawnRefusal>,
    },
}

impl<B> ActorFrameOf<B> {
    /// The same frame with every byte payload passed through `f`.
    pub fn map<C>(self, mut f: impl FnMut(B) -> C) -> ActorFrameOf<C> {
        match self {
            Self::Send { to, from, tag, body } => ActorFrameOf::Send {
                to,
                from,
                tag,
                body: f(body),
            },
            Self::Call { to, call, tag, body } => ActorFrameOf::Call {
                to,
                call,
                tag,
                body: f(body),
            },
            Self::Reply { call, result } => ActorFrameOf::Reply {
                call,
                result: result.map(|(tag, body)| (tag, f(body))),
            },
            Self::Refused { to, why } => ActorFrameOf::Refused { to, why },
            Self::Monitor { monitor, target } => ActorFrameOf::Monitor { monitor, target },
            Self::Demonitor { monitor, target } => ActorFrameOf::Demonitor { monitor, target },
            Self::Down { monitor, reason } => ActorFrameOf::Down { monitor, reason },
            Self::Link { from, to } => ActorFrameOf::Link { from, to },
            Self::Unlink { from, to } => ActorFrameOf::Unlink { from, to },
            Self::Exit { from, to, reason } => ActorFrameOf::Exit { from, to, reason },
            Self::Spawn {
                request,
                factory,
                args,
            } => ActorFrameOf::Spawn {
                request,
                factory,
                args: f(args),
            },
            Self::Spawned { request, result } => ActorFrameOf::Spawned { request, result },
        }
    }
}

/// A message type that can cross nodes: serde plus a stable name. The name, not the Rust type
/// path, identifies the type on the wire, so it survives refactors; change it when the layout
/// changes incompatibly.
pub trait RemoteMessage: Serialize + serde::de::DeserializeOwned + Send + 'static {
    /// Stable, cluster-wide unique name of the type, e.g. `"kv.Put"`.
    const TAG: &'static str;
}

/// The 64-bit wire tag of a type tag name: FNV-1a, computed at compile time.
pub const fn tag_of(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// A type with no values, for an actor that takes no calls (`type Call = Never`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Never {}

impl RemoteMessage for Never {
    const TAG: &'static str = "shoal.Never";
}

impl RemoteMessage for () {
    const TAG: &'static str = "shoal.Unit";
}

impl RemoteMessage for String {
    const TAG: &'static str = "shoal.String";
}

impl RemoteMessage for u64 {
    const TAG: &'static str = "shoal.u64";
}

impl RemoteMessage for Bytes {
    const TAG: &'static str = "shoal.Bytes";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_stable_fnv1a_values() {
        // Published FNV-1a 64 test vectors: these must never change.
        assert_eq!(tag_of(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(tag_of("a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(tag_of("kv.Put"), tag_of("kv.Get"));
    }

    #[test]
    fn only_normal_and_shutdown_are_normal_exits() {
        assert!(ExitReason::Normal.is_normal());
        assert!(ExitReason::Shutdown.is_normal());
        assert!(!ExitReason::NodeDown.is_normal());
        assert!(!ExitReason::Panic("x".into()).is_normal());
    }
}
