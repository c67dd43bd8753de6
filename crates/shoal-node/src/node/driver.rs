//! The driver task: feeds the membership core and performs its outputs. It makes no protocol
//! decisions of its own.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use shoal_api::views::{CandidateOutcome, EventKind};
use shoal_proto::joining::Joining;
use shoal_proto::{ConnId, Cookie, Event, LinkMessage, Member, Membership, NodeId, Output, Role};
use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::LinkCounters;
use super::chaos::Chaos;
use super::gossip_counters::GossipCounters;
use super::link::{self, LinkContext};
use super::outbox::{Limits, LinkSender};
use super::peer_counters::PeerTable;
use crate::actor::{Actors, Route, append_message};
use crate::config::NodeConfig;
use crate::discovery::SharedDiscovery;
use crate::distributed::Table;
use crate::error::NodeError;
use crate::history::History;
use crate::throttle::Throttle;
use crate::tls::TlsConfig;
use crate::{NodeEvent, Snapshot, now_us};

/// Everything the driver reacts to besides datagrams and timers.
#[derive(Debug)]
pub(crate) enum Input {
    /// A connection finished its handshake. `dialed` is the address we dialled, if we did.
    LinkUp {
        conn: ConnId,
        role: Role,
        peer: Member,
        dialed: Option<SocketAddr>,
        out: LinkSender,
    },
    /// A message arrived on an authenticated link.
    LinkMessage { conn: ConnId, msg: LinkMessage },
    /// An authenticated link closed.
    LinkDown { conn: ConnId },
    /// A dial ended without an authenticated link.
    DialFailed {
        addr: SocketAddr,
        expected: Option<NodeId>,
        refused: bool,
    },
    /// A Shoal node at `addr` refused our handshake, or TLS failed (the `DialFailed` of that
    /// dial follows): what that tells about the address.
    Refused {
        addr: SocketAddr,
        outcome: CandidateOutcome,
    },
    /// Discovery proposes these addresses to join through.
    Propose(Vec<SocketAddr>),
    /// A peer connected to our listener; the permit is its handshake slot.
    Accepted(tokio::net::TcpStream, OwnedSemaphorePermit),
    /// Leave gracefully, then answer.
    Leave(oneshot::Sender<()>),
}

/// Channels and shared state handed to the driver.
pub(crate) struct DriverWiring {
    pub(crate) actors: Actors,
    pub(crate) children: Arc<Table>,
    pub(crate) chaos: Arc<Chaos>,
    pub(crate) inputs: mpsc::UnboundedSender<Input>,
    pub(crate) inputs_rx: mpsc::UnboundedReceiver<Input>,
    pub(crate) events: broadcast::Sender<NodeEvent>,
    pub(crate) counters: Arc<LinkCounters>,
    /// Datagrams, bytes, probes and suspicions, for metrics.
    pub(crate) gossip: Arc<GossipCounters>,
    /// Link traffic per peer, for metrics.
    pub(crate) peers: Arc<PeerTable>,
    /// Set when the node stops by itself (a member refused our name).
    pub(crate) failure: Arc<OnceLock<NodeError>>,
    pub(crate) cancel: CancellationToken,
    pub(crate) tracker: TaskTracker,
    /// Where dial outcomes are recorded for `GET /api/discovery`.
    pub(crate) discovery: SharedDiscovery,
}

pub(crate) struct Driver {
    core: Membership,
    udp: UdpSocket,
    wiring: DriverWiring,
    cookie: Cookie,
    tls: Option<TlsConfig>,
    limits: Limits,
    /// Outbound queues of the links, carrying encoded frame bodies.
    links: HashMap<ConnId, LinkSender>,
    dialing: HashSet<SocketAddr>,
    /// Why a Shoal node refused the handshake of a dial whose `DialFailed` is on its way.
    refusals: HashMap<SocketAddr, CandidateOutcome>,
    next_conn: u64,
    snapshot: watch::Sender<Snapshot>,
    leave_waiter: Option<oneshot::Sender<()>>,
    /// The routes last handed to the actor runtime.
    routes: Vec<(NodeId, ConnId)>,
    /// The live members and whether each is linked, as last handed to the registry.
    registry_reach: Vec<(NodeId, bool)>,
    /// Rate limit of the warnings about addresses we could not join through.
    join_warnings: Throttle,
    /// Whether this life is still finding its cluster (published in the snapshot).
    joining: Joining,
}

impl Driver {
    pub(crate) fn new(
        config: &NodeConfig,
        local: Member,
        udp: UdpSocket,
        wiring: DriverWiring,
    ) -> (Self, watch::Receiver<Snapshot>) {
        let seed = rand::random::<u64>();
        let core = Membership::new(
            local.clone(),
            config.cookie.clone(),
            config.membership.clone(),
            seed,
        );
        let discovers = !config.seeds.is_empty() || config.local_dir.is_some() || !config.dns.is_empty();
        let mut joining = Joining::new(discovers);
        let (snapshot, rx) = watch::channel(Snapshot {
            local,
            members: Vec::new(),
            stats: core.stats(),
            joining: joining.is_joining(0),
        });
        let driver = Self {
            core,
            udp,
            wiring,
            cookie: config.cookie.clone(),
            tls: config.tls.clone(),
            limits: Limits {
                max_frame_len: config.max_frame_len,
                busy: config.link_busy_limit,
            },
            links: HashMap::new(),
            dialing: HashSet::new(),
            refusals: HashMap::new(),
            next_conn: 0,
            snapshot,
            leave_waiter: None,
            routes: Vec::new(),
            registry_reach: Vec::new(),
            join_warnings: Throttle::new(Duration::from_secs(10)),
            joining,
        };
        (driver, rx)
    }

    pub(crate) async fn run(mut self) {
        let mut buf = vec![0u8; 65_536];
        loop {
            let deadline = self.core.poll_timeout().map(tokio::time::Instant::from_std);
            tokio::select! {
                biased;
                () = self.wiring.cancel.cancelled() => break,
                Some(input) = self.wiring.inputs_rx.recv() => self.handle_input(input),
                received = self.udp.recv_from(&mut buf) => {
                    if let Ok((n, from)) = received {
                        self.wiring.gossip.count_in(n);
                        if !self.wiring.chaos.blocks_addr(&from) {
                            self.core.handle_datagram(Instant::now(), &buf[..n]);
                        }
                    }
                }
                () = sleep_until(deadline) => self.core.handle_timeout(Instant::now()),
            }
            self.perform_outputs();
            self.wiring.gossip.set_swim(self.core.swim_stats());
            self.update_routes();
            self.publish();
            if self.core.has_left()
                && let Some(done) = self.leave_waiter.take()
            {
                let _ = done.send(());
            }
        }
        tracing::debug!("driver stopped");
    }

    fn handle_input(&mut self, input: Input) {
        let now = Instant::now();
        match input {
            Input::LinkUp {
                conn,
                role,
                peer,
                dialed,
                out,
            } => {
                if let Some(addr) = dialed {
                    self.dialing.remove(&addr);
                    self.wiring
                        .discovery
                        .handle_outcome(addr, CandidateOutcome::Joined);
                }
                tracing::debug!(peer = %peer.id, ?role, "link up");
                self.links.insert(conn, out);
                self.core.handle_link_up(now, conn, role, peer);
            }
            Input::LinkMessage { conn, msg } => self.core.handle_link_message(now, conn, msg),
            Input::LinkDown { conn } => {
                self.links.remove(&conn);
                self.core.handle_link_down(now, conn);
            }
            Input::DialFailed {
                addr,
                expected,
                refused,
            } => {
                self.dialing.remove(&addr);
                self.joining.handle_dial_failed(addr);
                let outcome = match refused {
                    true => CandidateOutcome::Refused,
                    false => self
                        .refusals
                        .remove(&addr)
                        .unwrap_or(CandidateOutcome::Unreachable),
                };
                self.wiring.discovery.handle_outcome(addr, outcome);
                match expected {
                    Some(id) => self.core.handle_dial_failed(now, &id, refused),
                    // A seed or a discovered address: discovery proposes it again, with backoff.
                    None => {
                        if let Some(held) = self.join_warnings.allow() {
                            let why = match outcome {
                                CandidateOutcome::Refused => "connection refused",
                                CandidateOutcome::Unreachable => "no shoal node answered",
                                other => other.describe(),
                            };
                            tracing::warn!(%addr, "cannot join through {addr}: {why}; retrying with backoff ({held} similar warnings held back)");
                        }
                    }
                }
            }
            Input::Refused { addr, outcome } => {
                self.refusals.insert(addr, outcome);
            }
            Input::Propose(addrs) => {
                let listen = self.core.local().listen;
                let others: Vec<SocketAddr> = addrs.into_iter().filter(|a| *a != listen).collect();
                self.joining.handle_proposal(&others);
                for addr in others {
                    if self.core.is_linked_to(addr) {
                        self.wiring
                            .discovery
                            .handle_outcome(addr, CandidateOutcome::Joined);
                    } else {
                        self.dial(addr, None);
                    }
                }
            }
            Input::Accepted(stream, slot) => {
                self.next_conn += 1;
                let ctx = self.link_context(ConnId(self.next_conn));
                self.wiring.tracker.spawn(link::accept(stream, slot, ctx));
            }
            Input::Leave(done) => {
                self.core.leave(now);
                self.leave_waiter = Some(done);
            }
        }
    }

    fn perform_outputs(&mut self) {
        while let Some(output) = self.core.poll_output() {
            match output {
                Output::SendDatagram { to, .. } if self.wiring.chaos.blocks_addr(&to) => {}
                Output::SendDatagram { to, bytes } => {
                    // Gossip tolerates loss: a full socket buffer drops the datagram.
                    let sent = self.udp.try_send_to(&bytes, to).is_ok();
                    self.wiring.gossip.count_out(bytes.len(), sent);
                }
                Output::SendLink { conn, msg } => {
                    if let Some(out) = self.links.get(&conn) {
                        tracing::trace!(conn = conn.0, ?msg, "link send");
                        let _ = out.send_with(append_message(&msg));
                    }
                }
                Output::Dial(member) => self.dial(member.listen, Some(member.id)),
                Output::CloseLink(conn) => {
                    // Dropping the sender ends the connection task, which closes the socket.
                    self.links.remove(&conn);
                }
                Output::Event(event) => self.publish_event(event),
            }
        }
    }

    fn dial(&mut self, addr: SocketAddr, expected: Option<NodeId>) {
        if self.wiring.chaos.blocks_addr(&addr) {
            // As unreachable as a dial that times out, without the wait. The core hears of
            // it as of any failed dial, so it re-dials with backoff: dropped silently, the
            // dial left the core waiting for an outcome, and after a pair cut healed the two
            // nodes never linked again unless one was the other's seed.
            self.joining.handle_dial_failed(addr);
            if let Some(id) = expected {
                self.core.handle_dial_failed(Instant::now(), &id, false);
            }
            return;
        }
        if !self.dialing.insert(addr) {
            return;
        }
        self.next_conn += 1;
        let ctx = self.link_context(ConnId(self.next_conn));
        self.wiring.tracker.spawn(link::dial(addr, expected, ctx));
    }

    fn link_context(&self, conn: ConnId) -> LinkContext {
        LinkContext {
            conn,
            local: self.core.local().clone(),
            cookie: self.cookie.clone(),
            tls: self.tls.clone(),
            limits: self.limits,
            inputs: self.wiring.inputs.clone(),
            counters: self.wiring.counters.clone(),
            peers: self.wiring.peers.clone(),
            actors: self.wiring.actors.clone(),
            children: self.wiring.children.clone(),
            chaos: self.wiring.chaos.clone(),
            cancel: self.wiring.cancel.clone(),
        }
    }

    fn publish_event(&mut self, event: Event) {
        match &event {
            Event::NodeUp(m) => tracing::info!(peer = %m.id, listen = %m.listen, "node up"),
            Event::NodeSuspect(id) => tracing::warn!(peer = %id, "node suspect: link silent"),
            Event::NodeDown { id, reason } => {
                tracing::info!(peer = %id, ?reason, "node down");
                // No new actor traffic goes to it; then whatever waits on it learns (unless
                // its process lives on as a newer life: its actors did not go down).
                self.update_routes();
                if reason.actors_down() {
                    self.wiring.actors.node_down(id);
                }
            }
            Event::Renewed(m) => {
                tracing::warn!(id = %m.id, "this node was declared down; rejoined as a new life")
            }
            Event::ActorsDown(id) => {
                tracing::warn!(peer = %id, "a member reported renewed took no newer life: its actors are down");
                self.wiring.actors.node_down(id);
            }
            Event::Stalled { gap } => tracing::warn!(
                gap_ms = gap.as_millis() as u64,
                "this node did not run for a while (process stopped or starved of CPU); no peer was judged by that silence, but peers may have declared this node down"
            ),
            Event::NameTaken { by } => {
                let name = self.core.local().id.name.to_string();
                let holder = format!("{by} refused us: a live member of the cluster has that name");
                let failure = NodeError::NameTaken { name, holder };
                tracing::error!("stopping: {failure}");
                let _ = self.wiring.failure.set(failure);
                self.wiring.cancel.cancel();
            }
        }
        record(self.wiring.actors.history(), &event);
        let _ = self.wiring.events.send(NodeEvent {
            event,
            at_us: now_us(),
        });
    }

    /// Hands the actor runtime the links of live members, when they changed.
    fn update_routes(&mut self) {
        let routes = self.core.routes();
        if routes == self.routes {
            return;
        }
        let table = routes
            .iter()
            .filter_map(|(id, conn)| {
                let out = self.links.get(conn)?.clone();
                Some(Route { id: id.clone(), out })
            })
            .collect();
        self.wiring.actors.inner.remote.set_routes(table);
        let added: Vec<NodeId> = routes
            .iter()
            .filter(|r| !self.routes.contains(r))
            .map(|(id, _)| id.clone())
            .collect();
        // A process no route leads to any more (a new connection to it replaces the old
        // one without a down).
        let gone: Vec<NodeId> = self
            .routes
            .iter()
            .filter(|(old, _)| !routes.iter().any(|(id, _)| id == old))
            .map(|(id, _)| id.clone())
            .collect();
        self.routes = routes;
        for peer in gone {
            self.wiring.children.peer_unlinked(&peer);
        }
        for peer in added {
            self.wiring.actors.registry().peer_linked(peer.clone());
            self.wiring.children.peer_linked(peer);
        }
    }

    fn publish(&mut self) {
        let members = self.core.members();
        let reach = members.iter().map(|m| (&m.member.id, m.linked));
        if !reach.eq(self.registry_reach.iter().map(|(id, linked)| (id, *linked))) {
            // The registry copies entries of live members without a link from other nodes.
            self.wiring.actors.registry().members_changed(&members);
            self.registry_reach = members.iter().map(|m| (m.member.id.clone(), m.linked)).collect();
        }
        let stats = self.core.stats();
        let local = self.core.local();
        let joining = self.joining.is_joining(members.len());
        self.wiring.chaos.learn(&members);
        self.snapshot.send_if_modified(|s| {
            let changed =
                s.members != members || s.stats != stats || s.local != *local || s.joining != joining;
            if changed {
                *s = Snapshot {
                    local: local.clone(),
                    members,
                    stats,
                    joining,
                };
            }
            changed
        });
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Records a membership event in the node's history.
fn record(history: &History, event: &Event) {
    let (kind, subject, reason, detail) = match event {
        Event::NodeUp(m) => (
            EventKind::NodeUp,
            m.id.name.to_string(),
            None,
            format!("{} is up ({})", m.id, m.listen),
        ),
        Event::NodeSuspect(id) => (
            EventKind::NodeSuspect,
            id.name.to_string(),
            None,
            format!("{id} is suspect: its link went silent"),
        ),
        Event::NodeDown { id, reason } => (
            EventKind::NodeDown,
            id.name.to_string(),
            Some(reason.as_str()),
            format!("{id} is down: {}", reason.as_str()),
        ),
        Event::Renewed(m) => (
            EventKind::Renewed,
            m.id.name.to_string(),
            None,
            format!("this node was declared down; rejoined as {}", m.id),
        ),
        Event::ActorsDown(id) => (
            EventKind::ActorsDown,
            id.name.to_string(),
            None,
            format!("{id} took no newer life in time: its actors are down"),
        ),
        Event::Stalled { gap } => (
            EventKind::Stalled,
            history.node().to_owned(),
            None,
            format!("this node did not run for {} ms", gap.as_millis()),
        ),
        Event::NameTaken { by } => (
            EventKind::NameTaken,
            history.node().to_owned(),
            None,
            format!("{by} holds this node's name"),
        ),
    };
    history.record(kind, subject, reason, detail);
}
