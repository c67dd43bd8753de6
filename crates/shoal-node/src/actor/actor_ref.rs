//! `ActorRef<A>`: the typed local handle to an actor.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::behaviour::Mail;
use super::cell::Cell;
use super::envelope::{Envelope, Responder, push_waiting};
use super::mailbox::{MailboxSender, PushError};
use super::{Actor, CallError, Pid, SendError};

/// A typed handle to a local actor: sends need no serialization and no lookup. Clones are
/// cheap. [`ActorRef::pid`] gives the address to hand to other nodes.
pub struct ActorRef<A: Actor> {
    pub(crate) cell: Arc<Cell>,
    pub(crate) mailbox: MailboxSender<Mail<A>>,
}

impl<A: Actor> ActorRef<A> {
    /// The actor's cluster-wide address.
    pub fn pid(&self) -> &Pid {
        &self.cell.pid
    }

    /// Whether the actor still runs.
    pub fn is_alive(&self) -> bool {
        !self.mailbox.is_closed()
    }

    /// Queues `msg` without waiting: fails with `MailboxFull` when the mailbox is full and
    /// `NoProc` when the actor has stopped.
    pub fn send(&self, msg: A::Msg) -> Result<(), SendError> {
        self.mailbox
            .try_send(Envelope::Msg(msg))
            .map_err(|e| self.refused(&e))
    }

    /// Queues `msg`, waiting for room in the mailbox. Fails with `NoProc` when the actor has
    /// stopped.
    pub async fn send_wait(&self, msg: A::Msg) -> Result<(), SendError> {
        push_waiting(&self.mailbox, Envelope::Msg(msg)).await
    }

    /// Sends `request` and waits at most `timeout` for the reply. Fails at once when the
    /// mailbox is full or the actor has stopped, and with `Stopped` when it stops first.
    pub async fn call(&self, request: A::Call, timeout: Duration) -> Result<A::Reply, CallError> {
        let started = Instant::now();
        let result = self.call_timed(request, timeout).await;
        self.cell.messages.call_local.observe(started.elapsed());
        result
    }

    async fn call_timed(&self, request: A::Call, timeout: Duration) -> Result<A::Reply, CallError> {
        let (tx, rx) = oneshot::channel();
        self.mailbox
            .try_send(Envelope::Call(request, Responder::Local(tx)))
            .map_err(|e| self.refused(&e))?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(CallError::Stopped(self.cell.exit_reason())),
            Err(_) => Err(CallError::Timeout(timeout)),
        }
    }

    fn refused<T>(&self, e: &PushError<T>) -> SendError {
        let e = match e {
            PushError::Full(_) => {
                self.cell.count_dropped();
                SendError::MailboxFull
            }
            PushError::Closed(_) => SendError::NoProc,
        };
        self.cell.messages.count_local_refusal(&e);
        e
    }
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        Self {
            cell: self.cell.clone(),
            mailbox: self.mailbox.clone(),
        }
    }
}

impl<A: Actor> fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ActorRef").field(&self.cell.pid).finish()
    }
}
