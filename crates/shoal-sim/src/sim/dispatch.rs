//! The driver half of each simulated node: hands events to its core and performs the core's
//! outputs, like shoal-node's driver but on the virtual clock and network.

use std::net::SocketAddr;

use shoal_proto::{DownReason, Output};

use super::Sim;
use super::node::NodeState;
use super::queue::{SimEvent, Target};

impl Sim {
    /// Handles one event from the queue.
    pub(super) fn dispatch(&mut self, event: SimEvent) {
        match event {
            SimEvent::Timer(target) => self.on_timer(target),
            SimEvent::Discovery(target) => self.on_discovery(target),
            SimEvent::Supervise { target, periodic } => self.on_supervise(target, periodic),
            SimEvent::Datagram { from, to, bytes } => self.on_datagram(from, to, &bytes),
            SimEvent::Connected(conn) => self.on_connected(conn),
            SimEvent::Deliver { conn, to, msg } => self.on_deliver(conn, to, msg),
            SimEvent::Fin { conn, to, reset } => self.on_fin(conn, to, reset),
            SimEvent::LameDuckOver { conn, end } => self.on_lame_duck_over(conn, end),
            SimEvent::HandshakeTimeout(conn) => self.on_handshake_timeout(conn),
            SimEvent::DialFailed {
                dialer,
                addr,
                expected,
                refused,
            } => {
                if refused {
                    self.stats.dials_refused += 1;
                } else {
                    self.stats.dials_timed_out += 1;
                }
                self.fail_dial(dialer, addr, expected.as_ref(), refused);
            }
        }
    }

    /// Performs every output the core of node `idx` has queued, checks the node if it
    /// published events, and makes sure its next timer is in the queue.
    pub(super) fn flush(&mut self, idx: usize) {
        let mut published = false;
        let mut downs = Vec::new();
        while let Some(output) = self.nodes[idx].core.poll_output() {
            match output {
                Output::SendDatagram { to, bytes } => self.send_datagram(idx, to, bytes),
                Output::SendLink { conn, msg } => self.send_link(idx, conn, msg),
                Output::Dial(member) => self.dial(idx, member.listen, Some(member.id)),
                Output::CloseLink(conn) => self.close_link(idx, conn),
                Output::Event(event) => {
                    published = true;
                    if let shoal_proto::Event::NodeDown { id, reason } = &event
                        && reason.actors_down()
                    {
                        downs.push(id.clone());
                        if matches!(reason, DownReason::Left | DownReason::Crashed) {
                            self.nodes[idx].supervision.resolver.handle_gone(&id.name);
                        }
                    }
                    if let shoal_proto::Event::ActorsDown(id) = &event {
                        downs.push(id.clone());
                    }
                    self.observe(idx, event);
                }
            }
        }
        let routed = self.nodes[idx].registry_routes.clone();
        let added = self.registry_after_core(idx, downs);
        self.children_peers_changed(idx, &routed, &added);
        self.supervise(idx);
        if published {
            self.check_node(idx);
        }
        if self.nodes[idx].state == NodeState::Leaving && self.nodes[idx].core.has_left() {
            self.stop(idx, NodeState::Left);
        }
        self.schedule_timer(idx);
    }

    /// Stops node `idx`: it stops listening and every connection end it holds closes (the
    /// peers see the close, as the OS closes a dead process's sockets).
    pub(super) fn stop(&mut self, idx: usize, state: NodeState) {
        let node = &mut self.nodes[idx];
        node.state = state;
        node.timer_at = None;
        node.pause = Default::default();
        node.dialing.clear();
        let addr = node.addr;
        if self.listeners.get(&addr) == Some(&idx) {
            self.listeners.remove(&addr);
        }
        let held: Vec<_> = self
            .conns
            .iter()
            .filter(|(_, c)| c.open_end_of(idx).is_some())
            .map(|(id, _)| *id)
            .collect();
        for conn in held {
            while let Some(end) = self.conns.get(&conn).and_then(|c| c.open_end_of(idx)) {
                self.close_end(conn, end, true);
            }
        }
    }

    pub(super) fn schedule_timer(&mut self, idx: usize) {
        let node = &mut self.nodes[idx];
        if !node.is_alive() {
            return;
        }
        let Some(deadline) = node.core.poll_timeout() else {
            return;
        };
        let at = deadline.saturating_duration_since(self.base).max(self.now);
        if node.timer_at.is_some_and(|t| t <= at) {
            return;
        }
        node.timer_at = Some(at);
        let target = node.target(idx);
        self.queue.push(at, SimEvent::Timer(target));
    }

    fn on_timer(&mut self, target: Target) {
        let node = &mut self.nodes[target.node];
        if !node.is(target) || node.timer_at != Some(self.now) {
            return; // stale: superseded by an earlier deadline, or another life's
        }
        node.timer_at = None;
        let now = self.base + self.now;
        node.core.handle_timeout(now);
        self.flush(target.node);
    }

    /// The driver's discovery: dial every seed address we hold no link to, often while alone.
    fn on_discovery(&mut self, target: Target) {
        let node = &self.nodes[target.node];
        if !node.is(target) {
            return;
        }
        let addrs: Vec<SocketAddr> = node
            .seeds
            .iter()
            .filter_map(|seed| self.by_name.get(seed))
            .map(|&i| self.nodes[i].addr)
            .filter(|&addr| !node.core.is_linked_to(addr))
            .collect();
        self.nodes[target.node].joining.handle_proposal(&addrs);
        let node = &self.nodes[target.node];
        let pause = if node.core.members().is_empty() {
            self.config.discovery_alone
        } else {
            self.config.discovery_joined
        };
        for addr in addrs {
            self.dial(target.node, addr, None);
        }
        self.queue.push(self.now + pause, SimEvent::Discovery(target));
    }

    fn send_datagram(&mut self, from: usize, to: SocketAddr, bytes: Vec<u8>) {
        self.stats.datagrams += 1;
        if self.net.datagram_lost(&mut self.rng) {
            self.stats.datagrams_lost += 1;
            return;
        }
        if self.host(to).is_some_and(|dst| !self.net.reachable(from, dst)) {
            self.stats.partitioned += 1;
            return;
        }
        let at = self.now + self.net.latency(&mut self.rng);
        self.queue.push(at, SimEvent::Datagram { from, to, bytes });
    }

    fn on_datagram(&mut self, from: usize, to: SocketAddr, bytes: &[u8]) {
        let Some(&dst) = self.listeners.get(&to) else {
            return;
        };
        if !self.net.reachable(from, dst) {
            self.stats.partitioned += 1;
            return;
        }
        let now = self.base + self.now;
        self.nodes[dst].core.handle_datagram(now, bytes);
        self.flush(dst);
    }

    /// The slot whose host owns `addr` (running or not): a stopped node's host still exists,
    /// so a partition still makes it unreachable rather than refusing.
    pub(super) fn host(&self, addr: SocketAddr) -> Option<usize> {
        self.listeners
            .get(&addr)
            .copied()
            .or_else(|| self.nodes.iter().rposition(|n| n.addr == addr))
    }
}
