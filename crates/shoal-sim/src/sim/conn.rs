//! One simulated TCP connection: two ends, in-order delivery in each direction.

use std::net::SocketAddr;
use std::time::Duration;

use shoal_proto::{Handshake, NodeId, Role};

use super::queue::Target;

/// Index of the dialling end in [`Conn::ends`].
pub(crate) const DIALER: usize = 0;
/// Index of the accepting end in [`Conn::ends`].
pub(crate) const ACCEPTOR: usize = 1;

/// Where one end of a connection is in its life.
#[derive(Debug)]
pub(crate) enum EndState {
    /// TCP connect in flight.
    Connecting,
    /// Running the handshake FSM.
    Handshaking(Box<Handshake>),
    /// Authenticated; messages go to the node's membership core.
    Up,
    /// Retired by its core (`Output::CloseLink`): as in shoal-node, it writes nothing more but
    /// still reads, and its socket stays open, until `SimConfig::lame_duck` has passed or the
    /// peer closes; then it closes and its core hears the link went down.
    Retired,
    /// Closed by this end, by its node stopping, or by the peer.
    Closed,
}

/// One end of a connection.
#[derive(Debug)]
pub(crate) struct End {
    pub(crate) at: Target,
    pub(crate) state: EndState,
    /// Whether anything from the peer reached this end yet.
    pub(crate) heard: bool,
}

impl End {
    /// A fresh end at `at`.
    pub(crate) fn new(at: Target, state: EndState) -> Self {
        Self {
            at,
            state,
            heard: false,
        }
    }
}

/// A connection between two node slots. The sim assigns its `ConnId`; both ends' cores see
/// the same id.
#[derive(Debug)]
pub(crate) struct Conn {
    /// `ends[DIALER]` and `ends[ACCEPTOR]`.
    pub(crate) ends: [End; 2],
    /// The address dialled and the member expected there (for reporting a failed dial).
    pub(crate) dialed: SocketAddr,
    pub(crate) expected: Option<NodeId>,
    /// When the dial started (a connect that stalls fails `connect_timeout` after this).
    pub(crate) started: Duration,
    /// Latest scheduled arrival towards each end: later sends never overtake it.
    pub(crate) fifo: [Duration; 2],
}

impl Conn {
    /// Which end `node` holds that is not closed, if any.
    pub(crate) fn open_end_of(&self, node: usize) -> Option<usize> {
        (0..2).find(|&e| self.ends[e].at.node == node && !matches!(self.ends[e].state, EndState::Closed))
    }

    /// Whether both ends are closed (the connection can be forgotten).
    pub(crate) fn is_dead(&self) -> bool {
        self.ends.iter().all(|e| matches!(e.state, EndState::Closed))
    }

    /// When a message sent now, taking `latency`, reaches end `to`: never before one sent
    /// earlier on the same direction.
    pub(crate) fn arrival(&mut self, to: usize, now: Duration, latency: Duration) -> Duration {
        let at = (now + latency).max(self.fifo[to]);
        self.fifo[to] = at;
        at
    }
}

/// The handshake role of an end.
pub(crate) fn role(end: usize) -> Role {
    if end == DIALER {
        Role::Dialer
    } else {
        Role::Acceptor
    }
}
