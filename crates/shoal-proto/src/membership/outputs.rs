//! The core's queue of outputs, where retiring a link always tells the peer.

use std::collections::VecDeque;

use super::Output;
use crate::wire::LinkMessage;

/// What the core asks its driver to do, in order.
///
/// Every [`Output::CloseLink`] is queued behind a [`LinkMessage::Retired`] on the same
/// connection, so a connection one side retires tells the other at once: the driver writes
/// what is queued on it, `Retired` last, then stops writing. The rule lives here, once, for
/// every place the core retires a link (a lost duplicate tie, a life that is over, a member
/// gone, its own renewal); the peer that still held the connection drops it and re-dials
/// instead of hearing nothing and declaring a running peer `Failed` (see
/// `Membership::handle_link_message`). A `Retired` to a peer that is gone or cut off is
/// lost, as any frame would be.
#[derive(Debug, Default)]
pub(super) struct Outputs {
    queue: VecDeque<Output>,
}

impl Outputs {
    /// Queues `output`; a `CloseLink` is preceded by a `Retired` frame on that connection.
    pub(super) fn push_back(&mut self, output: Output) {
        if let Output::CloseLink(conn) = output {
            self.queue.push_back(Output::SendLink {
                conn,
                msg: LinkMessage::Retired,
            });
        }
        self.queue.push_back(output);
    }

    /// The next output, oldest first.
    pub(super) fn pop_front(&mut self) -> Option<Output> {
        self.queue.pop_front()
    }
}
