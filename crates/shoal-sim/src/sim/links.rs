//! Simulated TCP links: dial, connect, the real handshake FSM on both ends, in-order delivery,
//! closes and resets.

use std::net::SocketAddr;

use rand::Rng;
use shoal_proto::{ConnId, Handshake, HandshakeError, LinkMessage, NodeId, Step};

use super::Sim;
use super::conn::{ACCEPTOR, Conn, DIALER, End, EndState, role};
use super::queue::{SimEvent, Target};

impl Sim {
    /// Node `idx` dials `addr`, expecting `expected` there (`None` for a seed address).
    pub(super) fn dial(&mut self, idx: usize, addr: SocketAddr, expected: Option<NodeId>) {
        if !self.nodes[idx].dialing.insert(addr) {
            return; // the driver never dials one address twice at once
        }
        self.stats.dials += 1;
        let dialer = self.nodes[idx].target(idx);
        let failed = |refused| SimEvent::DialFailed {
            dialer,
            addr,
            expected: expected.clone(),
            refused,
        };
        match (self.host(addr), self.listeners.get(&addr).copied()) {
            (Some(host), _) if !self.net.reachable(idx, host) => {
                self.queue
                    .push(self.now + self.config.connect_timeout, failed(false));
            }
            (_, None) => {
                let rtt = self.net.latency(&mut self.rng) * 2;
                self.queue.push(self.now + rtt, failed(true));
            }
            (_, Some(dst)) => {
                self.next_conn += 1;
                let conn = ConnId(self.next_conn);
                let ends = [
                    End::new(dialer, EndState::Connecting),
                    End::new(self.nodes[dst].target(dst), EndState::Connecting),
                ];
                let c = Conn {
                    ends,
                    dialed: addr,
                    expected,
                    started: self.now,
                    fifo: [self.now; 2],
                };
                self.conns.insert(conn, c);
                let at = self.now + self.net.latency(&mut self.rng);
                self.queue.push(at, SimEvent::Connected(conn));
            }
        }
    }

    /// The connect reached the address: whoever listens there now accepts, and both ends
    /// start the handshake.
    pub(super) fn on_connected(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get(&conn) else { return };
        let dialer = c.ends[DIALER].at;
        let (addr, expected, started) = (c.dialed, c.expected.clone(), c.started);
        if !self.nodes[dialer.node].is(dialer) {
            self.conns.remove(&conn);
            return;
        }
        let Some(dst) = self.listeners.get(&addr).copied() else {
            self.conns.remove(&conn);
            let rtt = self.net.latency(&mut self.rng);
            self.queue.push(
                self.now + rtt,
                SimEvent::DialFailed {
                    dialer,
                    addr,
                    expected,
                    refused: true,
                },
            );
            return;
        };
        if !self.net.reachable(dialer.node, dst) {
            self.conns.remove(&conn);
            let at = (started + self.config.connect_timeout).max(self.now);
            self.queue.push(
                at,
                SimEvent::DialFailed {
                    dialer,
                    addr,
                    expected,
                    refused: false,
                },
            );
            return;
        }
        let acceptor = self.nodes[dst].target(dst);
        for (end, at) in [(DIALER, dialer), (ACCEPTOR, acceptor)] {
            let node = &self.nodes[at.node];
            let mut nonce = [0u8; 32];
            self.rng.fill_bytes(&mut nonce);
            let (handshake, hello) =
                Handshake::start(role(end), node.core.local().clone(), node.cookie.clone(), nonce);
            if let Some(c) = self.conns.get_mut(&conn) {
                c.ends[end] = End::new(at, EndState::Handshaking(Box::new(handshake)));
            }
            self.send_on(conn, end, hello);
        }
        self.queue.push(
            self.now + self.config.handshake_timeout,
            SimEvent::HandshakeTimeout(conn),
        );
    }

    /// Puts `msg` on the wire from end `from` of `conn`, behind everything sent before it.
    pub(super) fn send_on(&mut self, conn: ConnId, from: usize, msg: LinkMessage) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let to = 1 - from;
        self.stats.link_messages += 1;
        if !self.net.reachable(c.ends[from].at.node, c.ends[to].at.node) {
            self.stats.partitioned += 1;
            return;
        }
        let at = c.arrival(to, self.now, self.net.latency(&mut self.rng));
        self.queue.push(at, SimEvent::Deliver { conn, to, msg });
    }

    /// The core of node `idx` sends on an authenticated link.
    pub(super) fn send_link(&mut self, idx: usize, conn: ConnId, msg: LinkMessage) {
        let end = self.conns.get(&conn).and_then(|c| c.open_end_of(idx));
        if let Some(end) = end.filter(|&e| self.is_up(conn, e)) {
            self.send_on(conn, end, msg);
        }
    }

    /// The core of node `idx` closes a link. As in shoal-node, an authenticated link retires:
    /// it sends nothing more but reads on for `lame_duck` (what the peer sent before it saw
    /// the close still arrives), then closes and is reported back to the core as down. An
    /// end still in its handshake closes at once.
    pub(super) fn close_link(&mut self, idx: usize, conn: ConnId) {
        let Some(end) = self.conns.get(&conn).and_then(|c| c.open_end_of(idx)) else {
            return;
        };
        if !self.is_up(conn, end) {
            return self.close_end(conn, end, false);
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.ends[end].state = EndState::Retired;
        }
        let at = self.now + self.config.lame_duck;
        self.queue.push(at, SimEvent::LameDuckOver { conn, end });
    }

    /// A retired end's lame duck is over: it closes, and its core hears the link went down.
    pub(super) fn on_lame_duck_over(&mut self, conn: ConnId, end: usize) {
        let Some(c) = self.conns.get(&conn) else { return };
        if matches!(c.ends[end].state, EndState::Retired) {
            self.close_retired(conn, end);
        }
    }

    /// Closes retired end `end` of `conn` and tells its core the link is down.
    fn close_retired(&mut self, conn: ConnId, end: usize) {
        let Some(at) = self.conns.get(&conn).map(|c| c.ends[end].at) else {
            return;
        };
        self.close_end(conn, end, false);
        if self.nodes[at.node].is(at) {
            let now = self.base + self.now;
            self.nodes[at.node].core.handle_link_down(now, conn);
            self.flush(at.node);
        }
    }

    /// Closes one end; the other end learns it after the messages already in flight. `reset`
    /// when the socket is torn down rather than closed cleanly.
    pub(super) fn close_end(&mut self, conn: ConnId, end: usize, reset: bool) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if matches!(c.ends[end].state, EndState::Closed) {
            return;
        }
        c.ends[end].state = EndState::Closed;
        let other = 1 - end;
        if !matches!(c.ends[other].state, EndState::Closed | EndState::Connecting) {
            if self.net.reachable(c.ends[end].at.node, c.ends[other].at.node) {
                let at = c.arrival(other, self.now, self.net.latency(&mut self.rng));
                self.queue.push(
                    at,
                    SimEvent::Fin {
                        conn,
                        to: other,
                        reset,
                    },
                );
            } else {
                self.stats.partitioned += 1;
            }
        }
        if c.is_dead() {
            self.conns.remove(&conn);
        }
    }

    pub(super) fn on_deliver(&mut self, conn: ConnId, to: usize, msg: LinkMessage) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let from = 1 - to;
        let at = c.ends[to].at;
        if !self.net.reachable(c.ends[from].at.node, at.node) {
            self.stats.partitioned += 1;
            return;
        }
        let sender_open = !matches!(c.ends[from].state, EndState::Closed);
        c.ends[to].heard = true;
        match &mut c.ends[to].state {
            EndState::Up | EndState::Retired => {
                // As in shoal-node, registry frames skip the membership core.
                if let LinkMessage::Registry(frame) = msg {
                    let sender = c.ends[from].at;
                    self.on_registry_frame(at.node, sender, frame);
                    return;
                }
                if let LinkMessage::Children(frame) = msg {
                    let sender = c.ends[from].at;
                    self.on_children_frame(at.node, sender, frame);
                    return;
                }
                let now = self.base + self.now;
                self.nodes[at.node].core.handle_link_message(now, conn, msg);
                self.flush(at.node);
            }
            EndState::Handshaking(handshake) => {
                let step = handshake.handle(msg);
                self.on_handshake_step(conn, to, step);
            }
            // A segment for a closed socket is answered with a reset.
            EndState::Closed if sender_open => {
                let at = c.arrival(from, self.now, self.net.latency(&mut self.rng));
                self.queue.push(
                    at,
                    SimEvent::Fin {
                        conn,
                        to: from,
                        reset: true,
                    },
                );
            }
            EndState::Closed | EndState::Connecting => {}
        }
    }

    fn on_handshake_step(&mut self, conn: ConnId, end: usize, step: Result<Step, HandshakeError>) {
        match step {
            Ok(Step::Wait) => {}
            Ok(Step::Send(reply)) => self.send_on(conn, end, reply),
            Ok(Step::Ready { send, peer, .. }) => {
                if let Some(reply) = send {
                    self.send_on(conn, end, reply);
                }
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                c.ends[end].state = EndState::Up;
                let (at, dialed) = (c.ends[end].at, c.dialed);
                if end == DIALER {
                    self.nodes[at.node].dialing.remove(&dialed);
                }
                let now = self.base + self.now;
                self.nodes[at.node]
                    .core
                    .handle_link_up(now, conn, role(end), peer);
                self.flush(at.node);
            }
            Err(error) => {
                self.stats.handshake_failures += 1;
                tracing::debug!(conn = conn.0, %error, "simulated handshake failed");
                if let Some(reply) = error.reply() {
                    self.send_on(conn, end, reply);
                }
                self.close_end_reporting(conn, end, false);
            }
        }
    }

    /// The peer's close (or reset) reached end `to`. A reset before the peer said anything
    /// means no process owns the port any more: the driver reports that dial as refused.
    pub(super) fn on_fin(&mut self, conn: ConnId, to: usize, reset: bool) {
        let Some(c) = self.conns.get(&conn) else { return };
        if !self.net.reachable(c.ends[0].at.node, c.ends[1].at.node) {
            self.stats.partitioned += 1;
            return;
        }
        if matches!(c.ends[to].state, EndState::Retired) {
            self.close_retired(conn, to);
            return;
        }
        let was_up = self.is_up(conn, to);
        let (at, heard) = (c.ends[to].at, c.ends[to].heard);
        if was_up {
            self.close_end(conn, to, false);
            let now = self.base + self.now;
            self.nodes[at.node].core.handle_link_down(now, conn);
            self.flush(at.node);
        } else {
            self.close_end_reporting(conn, to, reset && !heard);
        }
    }

    pub(super) fn on_handshake_timeout(&mut self, conn: ConnId) {
        for end in [DIALER, ACCEPTOR] {
            let handshaking = self.conns.get(&conn).is_some_and(|c| {
                matches!(c.ends[end].state, EndState::Handshaking(_) | EndState::Connecting)
            });
            if handshaking {
                if end == DIALER {
                    self.stats.dials_timed_out += 1;
                }
                self.close_end_reporting(conn, end, false);
            }
        }
    }

    /// Closes an end that never came up; a dialler reports its dial as failed.
    fn close_end_reporting(&mut self, conn: ConnId, end: usize, refused: bool) {
        let Some(c) = self.conns.get(&conn) else { return };
        if matches!(c.ends[end].state, EndState::Closed) {
            return;
        }
        let (at, addr, expected) = (c.ends[end].at, c.dialed, c.expected.clone());
        self.close_end(conn, end, false);
        if end == DIALER {
            self.fail_dial(at, addr, expected.as_ref(), refused);
        }
    }

    /// Reports a failed dial to the dialler's driver and core.
    pub(super) fn fail_dial(
        &mut self,
        dialer: Target,
        addr: SocketAddr,
        expected: Option<&NodeId>,
        refused: bool,
    ) {
        let node = &mut self.nodes[dialer.node];
        if !node.is(dialer) {
            return;
        }
        node.dialing.remove(&addr);
        node.joining.handle_dial_failed(addr);
        if let Some(id) = expected {
            let now = self.base + self.now;
            node.core.handle_dial_failed(now, id, refused);
            self.flush(dialer.node);
        }
    }

    fn is_up(&self, conn: ConnId, end: usize) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|c| matches!(c.ends[end].state, EndState::Up))
    }
}
