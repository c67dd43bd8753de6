//! The `Node` handle: a cloneable front to one running node's tasks.

mod advertise;
mod chaos;
mod contract;
mod driver;
mod gossip_counters;
mod launcher;
mod link;
mod link_counters;
mod link_failure;
mod link_io;
mod outbox;
mod peer_counters;
mod readiness;
mod shutdown;

pub(crate) use self::gossip_counters::GossipCounters;
pub(crate) use self::link_counters::LinkCounters;
pub(crate) use self::peer_counters::{PeerCounters, PeerTable};
pub use self::readiness::NotReady;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use shoal_api::views::EventKind;
use shoal_proto::{Creation, Member, MemberStatus, NodeId, NodeName, ProtocolRange};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

use self::chaos::Chaos;
pub(crate) use self::driver::Input;
use self::driver::{Driver, DriverWiring};
pub(crate) use self::outbox::{LinkSender, OutboxError, WeakLinkSender};
use crate::actor::Actors;
use crate::config::{NodeBuilder, NodeConfig};
use crate::discovery::Discovery;
use crate::distributed::{DistributedSupervisor, Table};
use crate::error::NodeError;
use crate::{NodeEvent, NodeStats, Snapshot, now_us};

struct Inner {
    actors: Actors,
    singletons: Arc<crate::singleton::Singletons>,
    supervisor: DistributedSupervisor,
    verdict: watch::Receiver<crate::split_brain::Verdict>,
    chaos: Arc<Chaos>,
    inputs: mpsc::UnboundedSender<Input>,
    snapshot: watch::Receiver<Snapshot>,
    events: broadcast::Sender<NodeEvent>,
    counters: Arc<LinkCounters>,
    metrics: crate::metrics::Metrics,
    failure: Arc<OnceLock<NodeError>>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    started: Instant,
    first_events: std::sync::Mutex<Option<broadcast::Receiver<NodeEvent>>>,
    admin_token: Option<crate::config::AdminToken>,
    ready_min_members: usize,
    discovery: crate::discovery::SharedDiscovery,
    /// Set when [`Node::leave`] starts.
    leaving: AtomicBool,
    _stop_on_drop: DropGuard,
}

/// A running node. Clones share the node; dropping the last clone stops it (without a
/// goodbye: call [`Node::leave`] for a graceful exit).
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

impl NodeBuilder {
    /// Binds the sockets and starts the node's tasks. Returns once the node listens.
    pub async fn start(self) -> Result<Node, NodeError> {
        Node::start(self.build()?).await
    }
}

impl Node {
    /// Starts configuring a node.
    pub fn builder() -> NodeBuilder {
        NodeBuilder::new()
    }

    /// A builder filled from `SHOAL_*` variables, the contract a launcher such as
    /// `shoal cluster start --bin` uses for a binary built on Shoal. See
    /// [`NodeBuilder::from_env_with`] for the variables.
    pub fn from_env() -> NodeBuilder {
        NodeBuilder::from_env()
    }

    pub(crate) async fn start(config: NodeConfig) -> Result<Self, NodeError> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| NodeError::bind(config.listen, e))?;
        let bound = listener
            .local_addr()
            .map_err(|e| NodeError::bind(config.listen, e))?;
        let udp = UdpSocket::bind(bound)
            .await
            .map_err(|e| NodeError::bind(bound, e))?;
        let listen = advertise::link_addr(config.advertise, bound)?;
        let creation = Creation(now_us());
        let local = Member {
            id: NodeId::new(config.name.clone(), creation),
            listen,
            http: advertise::http_addr(config.http, listen),
            roles: config.roles.clone(),
            version: config.version.clone(),
            protocol: ProtocolRange::CURRENT,
            process: creation,
        };
        check_hello_fits(&local)?;
        let discovery = Discovery::new(&config, &local)?;
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let (inputs, inputs_rx) = mpsc::unbounded_channel();
        let (events, first_events) = broadcast::channel(1024);
        let counters = Arc::new(LinkCounters::default());
        let gossip = Arc::new(GossipCounters::default());
        let peers = Arc::new(PeerTable::default());
        let actors = Actors::new(local.id.clone(), cancel.child_token(), tracker.clone());
        register_diagnostics(&actors);
        let children = Arc::new(Table::new(local.id.clone(), actors.remote().clone()));
        let chaos = Arc::new(Chaos::default());
        let failure = Arc::new(OnceLock::new());
        let wiring = DriverWiring {
            failure: failure.clone(),
            actors: actors.clone(),
            children: children.clone(),
            chaos: chaos.clone(),
            inputs: inputs.clone(),
            inputs_rx,
            events: events.clone(),
            counters: counters.clone(),
            gossip: gossip.clone(),
            peers: peers.clone(),
            cancel: cancel.clone(),
            tracker: tracker.clone(),
            discovery: discovery.state(),
        };
        let (driver, snapshot) = Driver::new(&config, local, udp, wiring);
        tracker.spawn(driver.run());
        tracker.spawn(link::accept_loop(
            listener,
            inputs.clone(),
            counters.clone(),
            cancel.clone(),
        ));
        let to_driver = inputs.clone();
        let propose = move |addrs| to_driver.send(Input::Propose(addrs)).is_ok();
        let discovery_state = discovery.state();
        tracker.spawn(discovery.run(propose, snapshot.clone(), cancel.clone()));
        tracker.spawn(registry_anti_entropy(actors.clone(), cancel.clone()));
        let (verdict_tx, verdict) = watch::channel(crate::split_brain::Verdict::default());
        tracker.spawn(crate::split_brain::run(
            config.split_brain,
            snapshot.clone(),
            events.subscribe(),
            verdict_tx,
            actors.history().clone(),
            cancel.clone(),
        ));
        tracker.spawn(crate::history::sampler::run(
            actors.history().clone(),
            actors.clone(),
            peers.clone(),
            snapshot.clone(),
            cancel.clone(),
        ));
        let singletons = Arc::new(crate::singleton::Singletons::default());
        tracker.spawn(crate::singleton::run(
            actors.clone(),
            singletons.clone(),
            verdict.clone(),
            snapshot.clone(),
            cancel.clone(),
        ));
        let supervisor = start_supervisor(
            &actors, &children, &snapshot, &verdict, &config, &tracker, &cancel,
        );
        tracing::info!(name = %config.name, %listen, %bound, "node started");
        let started = Instant::now();
        let metrics = crate::metrics::Metrics::new(crate::metrics::Sources {
            snapshot: snapshot.clone(),
            verdict: verdict.clone(),
            links: counters.clone(),
            gossip,
            peers,
            actors: actors.clone(),
            supervisor: supervisor.clone(),
            started,
            discovery: discovery_state.clone(),
        });
        let inner = Inner {
            actors,
            singletons,
            supervisor,
            verdict,
            chaos,
            inputs,
            snapshot,
            events,
            counters,
            metrics,
            failure,
            _stop_on_drop: cancel.clone().drop_guard(),
            cancel,
            tracker,
            started,
            first_events: std::sync::Mutex::new(Some(first_events)),
            admin_token: config.admin_token.clone(),
            ready_min_members: config.ready_min_members,
            discovery: discovery_state,
            leaving: AtomicBool::new(false),
        };
        let node = Self {
            inner: Arc::new(inner),
        };
        if config.leave_on_stdin_eof {
            launcher::leave_on_stdin_eof(&node);
        }
        Ok(node)
    }

    /// This node's member record (its creation grows if it ever had to rejoin).
    pub fn local(&self) -> Member {
        self.inner.snapshot.borrow().local.clone()
    }

    /// What discovery found and why candidates did (not) join: `GET /api/discovery`.
    pub fn discovery(&self) -> shoal_api::views::DiscoveryView {
        self.inner.discovery.view()
    }

    /// Live peers (not this node), sorted by name.
    pub fn members(&self) -> Vec<MemberStatus> {
        self.inner.snapshot.borrow().members.clone()
    }

    /// A watch of the latest snapshot; changes whenever membership or link state changes.
    pub fn watch(&self) -> watch::Receiver<Snapshot> {
        self.inner.snapshot.clone()
    }

    /// Membership events from now on. A receiver that falls 1024 events behind skips ahead
    /// (`RecvError::Lagged`); read [`Node::members`] to resynchronise.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    /// Every event since the node started, for the first caller only (later callers get
    /// `None`: use [`Node::subscribe`]). Lets a program print or count events without a race
    /// against the node's own tasks.
    pub fn subscribe_from_start(&self) -> Option<broadcast::Receiver<NodeEvent>> {
        self.inner.first_events.lock().ok()?.take()
    }

    /// The node's actors: spawn, send, call, monitor, spawn remote, inspect.
    pub fn actors(&self) -> &Actors {
        &self.inner.actors
    }

    /// Declares a cluster singleton: an actor started from `factory` with `args` that runs
    /// once in the cluster, on the oldest live member (with `role`, if given), registered
    /// under `name`, and that moves to the next oldest member when that one goes. Declare the
    /// same singletons, and register their factories, on every node.
    pub fn singleton<Args: serde::Serialize>(
        &self,
        name: &str,
        factory: &str,
        args: &Args,
        role: Option<&str>,
    ) -> Result<(), crate::actor::SpawnError> {
        let args = postcard::to_stdvec(args).map_err(|e| crate::actor::SpawnError::Encode(e.to_string()))?;
        self.inner.singletons.declare(crate::singleton::SingletonSpec {
            name: name.to_owned(),
            factory: factory.to_owned(),
            args,
            role: role.map(str::to_owned),
        });
        Ok(())
    }

    /// The member that leads `role` (any member for `None`): the oldest live one, as its
    /// process identity. Singletons of that role run there.
    pub fn leader(&self, role: Option<&str>) -> Option<NodeId> {
        crate::singleton::leader(&self.inner.snapshot.borrow(), role)
    }

    /// Whether the split-brain resolver isolated this node's side after a partition: it runs
    /// no singletons until the partition heals (and keeps trying to rejoin).
    pub fn is_isolated(&self) -> bool {
        self.inner.verdict.borrow().isolated
    }

    /// Whether this node is ready to serve as a member of its cluster, as an orchestrator's
    /// readiness probe asks: it runs and is not leaving, it has found its cluster (not
    /// [`NotReady::Joining`]), it sees at least `min_members` live members, itself included,
    /// and the split-brain resolver does not isolate it. Liveness is simpler: a node that
    /// answers at all is live.
    pub fn ready(&self, min_members: usize) -> Result<(), NotReady> {
        if self.inner.cancel.is_cancelled() {
            return Err(NotReady::Stopped);
        }
        if self.inner.leaving.load(Ordering::Acquire) {
            return Err(NotReady::Leaving);
        }
        let (joining, live) = {
            let snapshot = self.inner.snapshot.borrow();
            (snapshot.joining, snapshot.members.len() + 1)
        };
        if joining {
            return Err(NotReady::Joining);
        }
        if live < min_members {
            return Err(NotReady::TooFewMembers {
                live,
                min: min_members,
            });
        }
        if self.is_isolated() {
            return Err(NotReady::Isolated);
        }
        Ok(())
    }

    /// [`Node::ready`] with the node's configured minimum
    /// ([`NodeBuilder::ready_min_members`], default 1): what `GET /health/ready` answers.
    pub fn ready_for_probe(&self) -> Result<(), NotReady> {
        self.ready(self.inner.ready_min_members)
    }

    /// The distributed supervisor (every node has one; they share one child table).
    pub fn distributed_supervisor(&self) -> &DistributedSupervisor {
        &self.inner.supervisor
    }

    /// A watch of [`Node::leader`] for `role`; it changes when the leader does.
    pub fn watch_leader(&self, role: Option<&str>) -> watch::Receiver<Option<NodeId>> {
        let (tx, rx) = watch::channel(self.leader(role));
        let mut snapshot = self.watch();
        let role = role.map(str::to_owned);
        let cancel = self.inner.cancel.clone();
        self.inner.tracker.spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tx.closed() => return,
                    changed = snapshot.changed() => if changed.is_err() { return },
                }
                let leader = crate::singleton::leader(&snapshot.borrow(), role.as_deref());
                tx.send_if_modified(|current| {
                    let changed = *current != leader;
                    *current = leader;
                    changed
                });
            }
        });
        rx
    }

    /// Fault injection: drops every gossip datagram and link frame to and from `peers`
    /// (replacing any earlier set), as a network partition would; links stay open and go
    /// silent, so each side declares the other down within the link deadline. Apply it on
    /// both sides for a clean split. An empty set heals.
    pub fn partition_from(&self, peers: impl IntoIterator<Item = NodeName>) {
        let peers: std::collections::BTreeSet<NodeName> = peers.into_iter().collect();
        tracing::warn!(?peers, "fault injection: partitioned from peers");
        let names: Vec<String> = peers.iter().map(ToString::to_string).collect();
        let (reason, detail) = if names.is_empty() {
            ("heal", "fault injection: partition healed".to_owned())
        } else {
            (
                "partition",
                format!("fault injection: cut off from {}", names.join(", ")),
            )
        };
        self.history()
            .record(EventKind::Chaos, names.join(","), Some(reason), detail);
        self.inner.chaos.partition(peers, &self.members());
    }

    /// Ends a [`Node::partition_from`]; discovery and re-dials bring the peers back.
    pub fn heal(&self) {
        tracing::warn!("fault injection: partition healed");
        let detail = "fault injection: partition healed";
        self.history()
            .record(EventKind::Chaos, self.history().node(), Some("heal"), detail);
        self.inner.chaos.partition(Default::default(), &[]);
    }

    /// The node's bounded history of events and one-second samples.
    pub fn history(&self) -> &Arc<crate::history::History> {
        self.inner.actors.history()
    }

    /// Bytes queued on the link to each linked peer and not yet written, sorted by name.
    pub fn link_queue_bytes(&self) -> Vec<(NodeName, usize)> {
        self.inner.actors.remote().queued_bytes()
    }

    /// The peers this node is partitioned from by fault injection, sorted.
    pub fn partitioned_from(&self) -> Vec<NodeName> {
        self.inner.chaos.blocked()
    }

    /// Counters of refused input.
    pub fn stats(&self) -> NodeStats {
        let c = &self.inner.counters;
        let a = &self.inner.actors.inner.counters;
        NodeStats {
            bad_frames: c.bad_frames.load(Ordering::Relaxed),
            oversized_frames: c.oversized_frames.load(Ordering::Relaxed),
            handshake_failures: c.handshake_failures.load(Ordering::Relaxed),
            handshakes_shed: c.handshakes_shed.load(Ordering::Relaxed),
            actor_messages_refused: a.refused_in.load(Ordering::Relaxed),
            actor_sends_refused_by_peers: a.refused_out.load(Ordering::Relaxed),
            actor_frames_received: a.frames_in.load(Ordering::Relaxed),
            membership: self.inner.snapshot.borrow().stats,
        }
    }

    /// Appends every metric of this node to `out` in the Prometheus text format, version
    /// 0.0.4 (serve it with [`crate::metrics::CONTENT_TYPE`]); `docs/metrics.md` lists the
    /// families. Values are read now from the node's state: a scrape costs time in
    /// proportion to the actors on this node (one pass over the actor table, under its read
    /// lock) and the children in the supervisor's table, and nothing between scrapes.
    /// Fails only if writing to `out` fails, which a `String` never does.
    pub fn encode_metrics(&self, out: &mut String) -> std::fmt::Result {
        self.inner.metrics.encode(out)
    }

    /// How long the node has run.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Leaves the cluster gracefully: first hands every distributed-supervisor child this
    /// node runs to another node, with its state; then peers see `NodeDown { reason: Left }`
    /// at once. Then stops every task. The handoff waits at most a second (when every node
    /// leaves at once, as on `shoal cluster stop`, no node takes the children, and waiting
    /// longer would only delay the stop), the goodbye about another.
    pub async fn leave(&self) {
        self.inner.leaving.store(true, Ordering::Release);
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, self.inner.supervisor.drain()).await;
        self.inner.singletons.leave();
        let local = self.local().id.clone();
        let names: Vec<String> = self
            .inner
            .singletons
            .specs()
            .into_iter()
            .map(|s| s.name)
            .collect();
        let stopped = async {
            while names
                .iter()
                .any(|n| self.actors().whereis(n).is_some_and(|pid| pid.node == local))
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(500), stopped).await;
        let (done, wait) = oneshot::channel();
        if self.inner.inputs.send(Input::Leave(done)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_millis(500), wait).await;
        }
        self.shutdown().await;
    }

    /// Stops every task the node started, without telling peers (they detect it as `Failed`).
    pub async fn shutdown(&self) {
        self.inner.cancel.cancel();
        self.inner.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(1), self.inner.tracker.wait()).await;
    }

    /// Resolves when the node has stopped.
    pub async fn stopped(&self) {
        self.inner.cancel.cancelled().await;
    }

    /// Why the node stopped by itself, if it did: a member of the cluster refused it because
    /// another live node holds its name ([`NodeError::NameTaken`]). `None` while it runs, and
    /// after a stop that was asked for.
    pub fn failure(&self) -> Option<&NodeError> {
        self.inner.failure.get()
    }

    /// The HTTP API's admin token ([`NodeBuilder::admin_token`], `SHOAL_ADMIN_TOKEN`).
    pub fn admin_token(&self) -> Option<&str> {
        self.inner.admin_token.as_ref().map(|t| t.as_str())
    }

    /// The address links and gossip listen on.
    pub fn listen_addr(&self) -> SocketAddr {
        self.local().listen
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.local().id)
            .finish_non_exhaustive()
    }
}

/// How long a graceful leave waits for its children to run on other nodes.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// Repairs registry replicas that lost a delta: digests to every peer, periodically.
async fn registry_anti_entropy(actors: Actors, cancel: CancellationToken) {
    let mut ticks = tokio::time::interval(shoal_proto::registry::DIGEST_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticks.tick() => actors.registry().tick(),
        }
    }
}

/// Starts the distributed supervisor's manager; returns its handle.
fn start_supervisor(
    actors: &Actors,
    children: &Arc<Table>,
    snapshot: &watch::Receiver<Snapshot>,
    verdict: &watch::Receiver<crate::split_brain::Verdict>,
    config: &NodeConfig,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) -> DistributedSupervisor {
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let strategies = Arc::new(crate::distributed::Strategies::default());
    let manager = crate::distributed::Manager::new(
        actors.clone(),
        children.clone(),
        snapshot.clone(),
        verdict.clone(),
        commands_rx,
        strategies.clone(),
        config.rebalance_children,
    );
    tracker.spawn(manager.run(cancel.clone()));
    DistributedSupervisor::new(
        actors.clone(),
        children.clone(),
        snapshot.clone(),
        verdict.clone(),
        commands,
        strategies,
    )
}

/// Factories every node offers, for diagnostics, benchmarks and tests across processes.
fn register_diagnostics(actors: &Actors) {
    use crate::actor::{
        COUNTER_FACTORY, Counter, CounterArgs, ECHO_FACTORY, ECHO_SIZED_FACTORY, ECHO_SUPERVISOR_FACTORY,
        Echo, EchoSupervisorArgs, SpawnOptions,
    };
    actors.register_handoff_factory(COUNTER_FACTORY, |args: CounterArgs, count: Option<u64>| {
        Ok(Counter::new(args, count))
    });
    actors.register_factory(ECHO_FACTORY, |()| Ok(Echo::default()));
    actors.register_factory_with_options(ECHO_SIZED_FACTORY, |capacity: u32| {
        Ok((
            Echo::default(),
            SpawnOptions::default().capacity(capacity as usize),
        ))
    });
    actors.register_factory(ECHO_SUPERVISOR_FACTORY, |args: EchoSupervisorArgs| {
        Ok(args.build())
    });
}

/// Refuses a member record whose `Hello` would exceed the handshake frame limit: peers would
/// close every connection of this node before it could prove the cookie.
fn check_hello_fits(local: &Member) -> Result<(), NodeError> {
    let hello = shoal_proto::LinkMessage::Hello(shoal_proto::wire::Hello {
        member: local.clone(),
        protocol: ProtocolRange::CURRENT,
        nonce: [0; shoal_proto::wire::NONCE_LEN],
    });
    let len = hello.encode().len();
    let max = shoal_proto::HANDSHAKE_MAX_FRAME_LEN;
    if len > max {
        return Err(NodeError::MemberTooLarge { len, max });
    }
    Ok(())
}
