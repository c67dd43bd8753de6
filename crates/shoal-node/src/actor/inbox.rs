//! [`TypedInbox`]: the mailbox of an actor of one type behind the cell's type-erased
//! [`Inbox`]: local sends by pid, frames from other nodes and JSON, each checked against the
//! actor's message types before anything is queued.

use std::any::Any;

use futures_util::future::BoxFuture;
use shoal_proto::Refusal;
use tokio::sync::oneshot;

use super::behaviour::Mail;
use super::cell::{Inbox, JsonReply};
use super::codec::Codec;
use super::envelope::{Envelope, Responder, push_waiting};
use super::json::JsonCodec;
use super::mailbox::{MailboxSender, PushError};
use super::reply::RemoteReply;
use super::{Actor, CallError, JsonError, SendError};

/// The inbox of an actor of type `A`.
pub(crate) struct TypedInbox<A: Actor> {
    pub(crate) mailbox: MailboxSender<Mail<A>>,
    pub(crate) codec: Option<Codec<A>>,
    pub(crate) json: Option<JsonCodec<A>>,
}

impl<A: Actor> TypedInbox<A> {
    /// The JSON codec, or why there is none.
    fn json(&self) -> Result<&JsonCodec<A>, JsonError> {
        self.json.as_ref().ok_or(JsonError::NotAccepted {
            actor_type: std::any::type_name::<A>(),
        })
    }

    fn push(&self, envelope: Mail<A>) -> Result<(), SendError> {
        self.mailbox.try_send(envelope).map_err(|e| match e {
            PushError::Full(_) => SendError::MailboxFull,
            PushError::Closed(_) => SendError::NoProc,
        })
    }
}

fn wrong_msg<A: Actor>() -> SendError {
    SendError::WrongType(format!("it takes {}", std::any::type_name::<A::Msg>()))
}

fn refusal(e: SendError) -> Refusal {
    match e {
        SendError::MailboxFull => Refusal::MailboxFull,
        _ => Refusal::NoProc,
    }
}

impl<A: Actor> Inbox for TypedInbox<A> {
    fn send_any(&self, msg: Box<dyn Any + Send>) -> Result<(), SendError> {
        let msg = msg.downcast::<A::Msg>().map_err(|_| wrong_msg::<A>())?;
        self.push(Envelope::Msg(*msg))
    }

    fn send_any_wait(&self, msg: Box<dyn Any + Send>) -> BoxFuture<'_, Result<(), SendError>> {
        match msg.downcast::<A::Msg>() {
            Ok(msg) => Box::pin(push_waiting(&self.mailbox, Envelope::Msg(*msg))),
            Err(_) => Box::pin(std::future::ready(Err(wrong_msg::<A>()))),
        }
    }

    fn call_any(&self, call: Box<dyn Any + Send>, reply: Box<dyn Any + Send>) -> Result<(), SendError> {
        let wrong =
            || SendError::WrongType(format!("it takes calls of {}", std::any::type_name::<A::Call>()));
        let call = call.downcast::<A::Call>().map_err(|_| wrong())?;
        let reply = reply
            .downcast::<oneshot::Sender<Result<A::Reply, CallError>>>()
            .map_err(|_| wrong())?;
        self.push(Envelope::Call(*call, Responder::Local(*reply)))
    }

    fn send_remote(&self, tag: u64, body: &[u8]) -> Result<(), Refusal> {
        let codec = self.codec.as_ref().ok_or(Refusal::NotRemote)?;
        let msg = codec.msg.accept(tag, body)?;
        self.push(Envelope::Msg(msg)).map_err(refusal)
    }

    fn call_remote(&self, tag: u64, body: &[u8], reply: RemoteReply) -> Result<(), Refusal> {
        let decoded = self
            .codec
            .as_ref()
            .ok_or(Refusal::NotRemote)
            .and_then(|codec| Ok((codec.call.accept(tag, body)?, codec.encode_reply)));
        let (call, encode) = match decoded {
            Ok(decoded) => decoded,
            Err(why) => {
                reply.answer(Err(why.clone()));
                return Err(why);
            }
        };
        let envelope = Envelope::Call(call, Responder::Remote { reply, encode });
        let Err(e) = self.mailbox.try_send(envelope) else {
            return Ok(());
        };
        let why = match e {
            PushError::Full(_) => Refusal::MailboxFull,
            PushError::Closed(_) => Refusal::NoProc,
        };
        if let Envelope::Call(_, Responder::Remote { reply, .. }) = e.into_inner() {
            reply.answer(Err(why.clone()));
        }
        Err(why)
    }

    fn send_json(&self, msg: serde_json::Value) -> Result<(), JsonError> {
        let msg = (self.json()?.msg)(msg)?;
        self.push(Envelope::Msg(msg)).map_err(JsonError::NotDelivered)
    }

    fn call_json(&self, call: serde_json::Value, reply: JsonReply) -> Result<(), JsonError> {
        let json = self.json()?;
        let call = (json.call)(call)?;
        let responder = Responder::Json {
            tx: reply,
            encode: json.reply,
        };
        self.push(Envelope::Call(call, responder))
            .map_err(JsonError::NotDelivered)
    }

    fn depth(&self) -> usize {
        self.mailbox.depth()
    }
}
