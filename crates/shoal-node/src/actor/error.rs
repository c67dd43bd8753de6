//! Errors of sends, calls and spawns, each saying what happened to the message.

use std::fmt;

use shoal_proto::{ExitReason, NodeName, Refusal, SpawnRefusal};

/// A send that was not delivered (the message is dropped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// No actor with that pid runs (it stopped, or the pid is of an older life of its node).
    #[error("no such actor")]
    NoProc,
    /// The mailbox is full.
    #[error("mailbox full; message dropped")]
    MailboxFull,
    /// The actor's node is not up and linked.
    #[error("node {0} is down or not linked")]
    NodeDown(NodeName),
    /// The actor takes another message type.
    #[error("wrong message type for this actor: {0}")]
    WrongType(String),
    /// The message did not encode.
    #[error("message does not encode: {0}")]
    Encode(String),
    /// The link to the actor's node has `limit` bytes or more waiting to be written (the
    /// peer reads slower than this node sends, or has stalled): the message was not queued.
    /// Send later, or use `send_wait`, which waits for the link to drain.
    #[error(
        "link to {node} is busy: {limit} bytes or more wait to be written; message dropped (retry later, or use send_wait)"
    )]
    LinkBusy {
        /// The actor's node.
        node: NodeName,
        /// The link's busy limit (`NodeConfig::link_busy_limit`).
        limit: usize,
    },
    /// The encoded message is longer than one link frame may be.
    #[error("message of {len} bytes is over the link's frame limit of {max} bytes; send it in smaller parts")]
    TooLarge {
        /// Its encoded length.
        len: usize,
        /// The link's limit.
        max: usize,
    },
}

/// A call that got no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No reply within the timeout. The actor may still handle the request later.
    #[error("no reply within {0:?}")]
    Timeout(std::time::Duration),
    /// Not delivered (see [`SendError`]).
    #[error("call not delivered: {0}")]
    NotDelivered(#[from] SendError),
    /// The actor's node went down before replying.
    #[error("node {0} went down before replying")]
    NodeDown(NodeName),
    /// The actor stopped before replying (a handler error stops it with that reason).
    #[error("the actor stopped before replying: {0}")]
    Stopped(ExitReason),
    /// The receiving node refused the call.
    #[error("refused by the receiving node: {0}")]
    Refused(Refusal),
    /// The reply did not decode as the expected type.
    #[error("reply does not decode: {0}")]
    BadReply(String),
}

/// A spawn that started nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// The node refused (unknown factory, bad arguments, failed start).
    #[error("{0}")]
    Refused(#[from] SpawnRefusal),
    /// The node is not up and linked, or went down before answering.
    #[error("node {0} is down or not linked")]
    NodeDown(NodeName),
    /// No answer within the timeout; an actor may still have started there.
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The arguments did not encode.
    #[error("arguments do not encode: {0}")]
    Encode(String),
}

impl From<Refusal> for CallError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Stopped(reason) => Self::Stopped(reason),
            Refusal::NoProc => Self::NotDelivered(SendError::NoProc),
            Refusal::MailboxFull => Self::NotDelivered(SendError::MailboxFull),
            other => Self::Refused(other),
        }
    }
}

/// Why [`super::Actors::state_view`] shows no state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// No actor with that pid runs on this node.
    #[error("no such actor on this node")]
    NoProc,
    /// The actor does not implement [`super::Actor::state_view`] (or it returned `None`).
    #[error("the actor does not expose its state (its Actor impl has no state_view)")]
    NotExposed,
    /// The actor did not get to the request within the timeout: it is busy with a long
    /// handler, or its signal lane is backed up. The request is dropped when it gets there.
    #[error("the actor did not answer within {0:?}: it is busy; try again")]
    Busy(std::time::Duration),
}

/// Why [`super::Actors::send_json`] or [`super::Actors::call_json`] failed. All but `Call`
/// mean nothing was delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// No actor with that pid runs on this node.
    #[error("no such actor on this node")]
    NoProc,
    /// The actor's type did not opt in ([`super::Actor::json`] is `None`).
    #[error("the actor ({actor_type}) does not accept JSON messages: its Actor impl has no json()")]
    NotAccepted {
        /// The actor's Rust type.
        actor_type: &'static str,
    },
    /// The JSON is not a value of the actor's `Msg` (or `Call`) type.
    #[error("the message does not decode as {expected}: {message}")]
    Decode {
        /// The Rust type it should decode as.
        expected: &'static str,
        /// What serde said.
        message: String,
    },
    /// The message decoded but was not queued (the mailbox is full, or the actor stopped).
    #[error("not delivered: {0}")]
    NotDelivered(SendError),
    /// The call was delivered but got no reply (a timeout, the actor stopping first), or
    /// the reply did not encode as JSON.
    #[error("{0}")]
    Call(CallError),
}

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
