//! Answers to frames from other nodes: [`Origin`], the link a frame came on, and
//! [`RemoteReply`], where a remote call's answer goes.

use std::sync::Arc;

use bytes::Bytes;
use shoal_proto::{ActorFrame, LinkMessage, NodeId, Refusal};

use super::cell::Cell;
use super::remote::{Remote, append_message, send_error};
use super::{ExitReason, SendError};
use crate::node::WeakLinkSender;

/// The link a frame arrived on: answers go back on it while the driver still uses it, else
/// on the peer's current link (a duplicate link being retired still delivers what it
/// carried, and the answers take the link that replaced it).
#[derive(Debug)]
pub(crate) struct Origin {
    pub(crate) peer: NodeId,
    /// The link's outbound queue, held weakly so the driver can still close the link.
    pub(crate) out: WeakLinkSender,
}

impl Origin {
    /// Sends an answer to a frame that came on this link. A reply too long for one frame
    /// is answered with `BadReply` instead, so the caller does not wait for its timeout.
    pub(crate) fn answer(&self, remote: &Remote, frame: ActorFrame) {
        let call = match &frame {
            ActorFrame::Reply { call, .. } => Some(*call),
            _ => None,
        };
        let sent = self.answer_to(remote, &LinkMessage::Actor(frame));
        if let (Err(SendError::TooLarge { len, max }), Some(call)) = (sent, call) {
            let why = format!("the reply of {len} bytes is over the link's frame limit of {max} bytes");
            let refusal = ActorFrame::Reply {
                call,
                result: Err(Refusal::BadReply(why)),
            };
            let _ = self.answer_to(remote, &LinkMessage::Actor(refusal));
        }
    }

    /// Queues `msg` on this link, or on the peer's current link once the driver dropped it.
    fn answer_to(&self, remote: &Remote, msg: &LinkMessage) -> Result<(), SendError> {
        match self.out.upgrade() {
            Some(out) => out
                .send_with(append_message(msg))
                .map_err(|e| send_error(e, &self.peer.name)),
            None => remote.send_with(&self.peer, append_message(msg)),
        }
    }
}

/// Where to send the answer to a call that came from another node. Dropped unanswered (the
/// actor was halted mid-call), it answers `Stopped` with the halt's reason.
pub(crate) struct RemoteReply {
    /// Taken when the answer is sent.
    remote: Option<Arc<Remote>>,
    origin: Arc<Origin>,
    call: u64,
    callee: Option<Arc<Cell>>,
}

impl RemoteReply {
    /// The answer to call `call` that came from `origin` for `callee` (`None`: no such actor).
    pub(crate) fn new(
        remote: Arc<Remote>,
        origin: Arc<Origin>,
        call: u64,
        callee: Option<Arc<Cell>>,
    ) -> Self {
        Self {
            remote: Some(remote),
            origin,
            call,
            callee,
        }
    }
}

impl RemoteReply {
    /// Sends the answer (once; dropping it unanswered answers `Stopped`).
    pub(crate) fn answer(mut self, result: Result<(u64, Bytes), Refusal>) {
        self.answer_once(result);
    }

    fn answer_once(&mut self, result: Result<(u64, Bytes), Refusal>) {
        if let Some(remote) = self.remote.take() {
            let frame = ActorFrame::Reply {
                call: self.call,
                result,
            };
            self.origin.answer(&remote, frame);
        }
    }
}

impl Drop for RemoteReply {
    fn drop(&mut self) {
        let reason = self
            .callee
            .as_ref()
            .map_or(ExitReason::Killed, |c| c.halt_reason());
        self.answer_once(Err(Refusal::Stopped(reason)));
    }
}
