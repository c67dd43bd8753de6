//! What travels in an actor's mailbox: [`Envelope`]s, and the [`Responder`] a call's answer
//! goes to (a local caller, a caller on another node, or a JSON caller).

use shoal_proto::Refusal;
use tokio::sync::oneshot;

use bytes::Bytes;

use super::mailbox::{MailboxSender, PushError};
use super::reply::RemoteReply;
use super::{CallError, ExitReason, SendError};

/// Encodes a reply as its type tag and body.
pub(crate) type EncodeReply<R> = fn(&R) -> Result<(u64, Bytes), String>;

/// Queues `envelope`, waiting for room in the mailbox; `NoProc` once the actor has stopped.
pub(crate) async fn push_waiting<T>(mailbox: &MailboxSender<T>, envelope: T) -> Result<(), SendError> {
    // Try first: while there is room this skips the waiting machinery.
    let envelope = match mailbox.try_send(envelope) {
        Ok(()) => return Ok(()),
        Err(PushError::Closed(_)) => return Err(SendError::NoProc),
        Err(PushError::Full(envelope)) => envelope,
    };
    mailbox.send(envelope).await.map_err(|_| SendError::NoProc)
}

/// One mailbox entry of an actor whose messages are `M`, calls `C` and replies `R` (see
/// [`Mail`](super::behaviour::Mail)).
pub(crate) enum Envelope<M, C, R> {
    Msg(M),
    Call(C, Responder<R>),
}

/// Where the answer to a call goes.
pub(crate) enum Responder<R> {
    Local(oneshot::Sender<Result<R, CallError>>),
    Remote {
        reply: RemoteReply,
        encode: EncodeReply<R>,
    },
    /// A call in JSON form ([`super::Actors::call_json`]): the reply is encoded as JSON.
    Json {
        tx: oneshot::Sender<Result<serde_json::Value, CallError>>,
        encode: fn(&R) -> Result<serde_json::Value, String>,
    },
}

impl<R> Responder<R> {
    /// Answers the call, or tells the caller the actor stopped first.
    pub(crate) fn respond(self, result: Result<R, ExitReason>) {
        match self {
            Self::Local(tx) => {
                let _ = tx.send(result.map_err(CallError::Stopped));
            }
            Self::Remote { reply, encode } => reply.answer(match result {
                Ok(reply) => encode(&reply).map_err(Refusal::BadReply),
                Err(reason) => Err(Refusal::Stopped(reason)),
            }),
            Self::Json { tx, encode } => {
                let answer = result
                    .map_err(CallError::Stopped)
                    .and_then(|reply| encode(&reply).map_err(CallError::BadReply));
                let _ = tx.send(answer);
            }
        }
    }
}
