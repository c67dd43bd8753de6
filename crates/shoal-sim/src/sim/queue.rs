//! The simulation's agenda: everything that will happen, ordered by (virtual time, sequence).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::Duration;

use shoal_proto::{ConnId, LinkMessage, NodeId};

/// A node slot and the life it was in when the event was scheduled. An event for an older life
/// is stale and dropped: that process is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) node: usize,
    pub(crate) life: u32,
}

/// One scheduled happening.
#[derive(Debug)]
pub(crate) enum SimEvent {
    /// The node's core asked to be woken at this time.
    Timer(Target),
    /// The node's discovery round: dial seeds it is not linked to.
    Discovery(Target),
    /// The node's supervisor looks again: on its timer (`periodic`), or kicked.
    Supervise { target: Target, periodic: bool },
    /// A datagram reaches whatever node listens on `to`.
    Datagram {
        from: usize,
        to: SocketAddr,
        bytes: Vec<u8>,
    },
    /// The TCP connect of `conn` reached its acceptor.
    Connected(ConnId),
    /// A link message reaches end `to` of `conn`.
    Deliver {
        conn: ConnId,
        to: usize,
        msg: LinkMessage,
    },
    /// The other end of `conn` closed; end `to` learns it. `reset` when the socket was torn
    /// down (its process died, or it was already closed) rather than closed cleanly.
    Fin { conn: ConnId, to: usize, reset: bool },
    /// End `end` of `conn`, retired by its core, stops reading and closes (unless it
    /// already has).
    LameDuckOver { conn: ConnId, end: usize },
    /// The handshake of `conn` must be finished by now.
    HandshakeTimeout(ConnId),
    /// A dial that never produced a connection failed.
    DialFailed {
        dialer: Target,
        addr: SocketAddr,
        expected: Option<NodeId>,
        refused: bool,
    },
}

/// A heap entry: small, so sifting is cheap; the event itself waits in `EventQueue::slots`.
struct Queued {
    at: Duration,
    seq: u64,
    slot: usize,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Events by time; ties happen in the order they were scheduled.
#[derive(Default)]
pub(crate) struct EventQueue {
    heap: BinaryHeap<Reverse<Queued>>,
    slots: Vec<Option<SimEvent>>,
    free: Vec<usize>,
    next_seq: u64,
}

impl EventQueue {
    pub(crate) fn push(&mut self, at: Duration, event: SimEvent) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                self.slots.len() - 1
            }
        };
        self.heap.push(Reverse(Queued {
            at,
            seq: self.next_seq,
            slot,
        }));
        self.next_seq += 1;
    }

    pub(crate) fn peek_time(&self) -> Option<Duration> {
        self.heap.peek().map(|Reverse(q)| q.at)
    }

    pub(crate) fn pop(&mut self) -> Option<(Duration, SimEvent)> {
        let Reverse(q) = self.heap.pop()?;
        self.free.push(q.slot);
        // Every slot in the heap holds an event until it is popped here.
        self.slots[q.slot].take().map(|event| (q.at, event))
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_pop_by_time_then_by_scheduling_order() {
        let mut q = EventQueue::default();
        let t = |ms| Duration::from_millis(ms);
        q.push(t(5), SimEvent::Connected(ConnId(1)));
        q.push(t(1), SimEvent::Connected(ConnId(2)));
        q.push(t(5), SimEvent::Connected(ConnId(3)));
        let order: Vec<_> = std::iter::from_fn(|| q.pop())
            .map(|(at, e)| match e {
                SimEvent::Connected(c) => (at, c.0),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(order, vec![(t(1), 2), (t(5), 1), (t(5), 3)]);
    }
}
