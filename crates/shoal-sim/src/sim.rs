//! The simulator: many membership cores, one virtual clock, one seeded RNG, one network.
//!
//! Everything that happens is an event in one queue ordered by (virtual time, sequence), so a
//! run is a pure function of its seed and its commands. [`Sim::step`] handles one event, then
//! checks the invariants of every node that event touched (module `invariants`).

mod conn;
mod dispatch;
mod invariants;
mod lifecycle;
mod links;
mod network;
mod node;
mod pause;
mod queue;
mod registry;
mod supervision_check;
mod supervisor;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use shoal_proto::{ConnId, MemberStatus, Membership, NodeId, NodeName};

use self::conn::Conn;
use self::network::Network;
pub use self::node::NodeState;
use self::node::SimNode;
use self::queue::EventQueue;
pub use self::supervisor::StartRefused;
use crate::config::SimConfig;
use crate::error::{SimError, Violation};
use crate::history::History;

/// The port every simulated node listens on; nodes differ by IP address.
const PORT: u16 = 7000;

/// Counters of what the network carried, for reports and tuning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Events handled.
    pub events: u64,
    /// Datagrams sent by cores.
    pub datagrams: u64,
    /// Datagrams lost to random loss.
    pub datagrams_lost: u64,
    /// Datagrams and link messages dropped by a partition.
    pub partitioned: u64,
    /// Link messages sent (handshake included).
    pub link_messages: u64,
    /// Dials started.
    pub dials: u64,
    /// Dials refused (nothing listened).
    pub dials_refused: u64,
    /// Dials that timed out (unreachable or handshake too slow).
    pub dials_timed_out: u64,
    /// Handshakes that failed (wrong cookie, dialled ourselves...).
    pub handshake_failures: u64,
}

/// A deterministic cluster of simulated nodes. See the module doc.
pub struct Sim {
    seed: u64,
    config: SimConfig,
    base: Instant,
    now: Duration,
    rng: StdRng,
    net: Network,
    queue: EventQueue,
    nodes: Vec<SimNode>,
    by_name: BTreeMap<NodeName, usize>,
    /// Running nodes by listen address.
    listeners: BTreeMap<SocketAddr, usize>,
    conns: BTreeMap<ConnId, Conn>,
    /// The cookie group of every id any node ever had (renewals included).
    groups: BTreeMap<NodeId, u32>,
    next_conn: u64,
    next_addr: u32,
    history: History,
    violations: Vec<Violation>,
    stats: SimStats,
    /// Singletons every node runs ([`Sim::add_singleton`]).
    singletons: Vec<String>,
    /// Node lives cut off from the majority side that have not caught up since (module
    /// `supervision_check`).
    tainted: std::collections::BTreeSet<(usize, u32)>,
}

impl Sim {
    /// An empty simulation whose every random choice derives from `seed`.
    pub fn new(seed: u64, config: SimConfig) -> Self {
        let net = Network::new(config.latency_min, config.latency_max, config.datagram_loss);
        Self {
            seed,
            config,
            base: Instant::now(),
            now: Duration::ZERO,
            rng: StdRng::seed_from_u64(seed),
            net,
            queue: EventQueue::default(),
            nodes: Vec::new(),
            by_name: BTreeMap::new(),
            listeners: BTreeMap::new(),
            conns: BTreeMap::new(),
            groups: BTreeMap::new(),
            next_conn: 0,
            next_addr: 0,
            history: History::default(),
            violations: Vec::new(),
            stats: SimStats::default(),
            singletons: Vec::new(),
            tainted: Default::default(),
        }
    }

    /// The seed this run derives from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Virtual time since the start.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// The settings of this run.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Cuts every node of `side_a` off from every node of `side_b`, both ways.
    pub fn partition(&mut self, side_a: &[&str], side_b: &[&str]) -> Result<(), SimError> {
        let a = side_a
            .iter()
            .map(|n| self.slot(n))
            .collect::<Result<Vec<_>, _>>()?;
        let b = side_b
            .iter()
            .map(|n| self.slot(n))
            .collect::<Result<Vec<_>, _>>()?;
        tracing::debug!(at = ?self.now, ?side_a, ?side_b, "fault: partition");
        self.net.partition(&a, &b);
        Ok(())
    }

    /// Removes every partition.
    pub fn heal(&mut self) {
        tracing::debug!(at = ?self.now, "fault: heal");
        self.net.heal();
    }

    /// Whether some partition is in place.
    pub fn is_partitioned(&self) -> bool {
        self.net.is_partitioned()
    }

    /// Handles the next event, then checks the invariants of the nodes it touched. Returns
    /// `Ok(false)` when nothing is left to happen.
    pub fn step(&mut self) -> Result<bool, SimError> {
        let Some((at, event)) = self.queue.pop() else {
            return Ok(false);
        };
        self.now = self.now.max(at);
        self.stats.events += 1;
        if let Some(event) = self.hold_if_paused(event) {
            self.dispatch(event);
        }
        self.check_supervision();
        self.take_violation()?;
        Ok(true)
    }

    /// Runs every event due in the next `duration` of virtual time.
    pub fn run_for(&mut self, duration: Duration) -> Result<(), SimError> {
        let deadline = self.now + duration;
        while self.queue.peek_time().is_some_and(|at| at <= deadline) {
            self.step()?;
        }
        self.now = deadline;
        Ok(())
    }

    /// Runs until `done` holds (checked every `poll` of virtual time) or `max` has passed.
    /// Returns whether `done` held.
    pub fn run_until(
        &mut self,
        mut done: impl FnMut(&Sim) -> bool,
        poll: Duration,
        max: Duration,
    ) -> Result<bool, SimError> {
        let deadline = self.now + max;
        loop {
            if done(self) {
                return Ok(true);
            }
            if self.now >= deadline {
                return Ok(false);
            }
            self.run_for(poll.min(deadline - self.now))?;
        }
    }

    /// Names of every node slot, in the order they were added.
    pub fn names(&self) -> impl Iterator<Item = &NodeName> {
        self.nodes.iter().map(|n| &n.name)
    }

    /// Whether the node named `name` runs and is not leaving.
    pub fn is_running(&self, name: &str) -> bool {
        self.slot(name).is_ok_and(|i| self.nodes[i].is_running())
    }

    /// The state of the node named `name`.
    pub fn state(&self, name: &str) -> Option<NodeState> {
        self.slot(name).ok().map(|i| self.nodes[i].state)
    }

    /// The id the node named `name` goes by now (its last life's, if stopped).
    pub fn id(&self, name: &str) -> Option<NodeId> {
        self.slot(name).ok().map(|i| self.nodes[i].id().clone())
    }

    /// Every id the node named `name` ever had, oldest first.
    pub fn ids(&self, name: &str) -> Option<&[NodeId]> {
        self.slot(name).ok().map(|i| self.nodes[i].ids.as_slice())
    }

    /// Which run of its slot the node named `name` is in (0 for the first start).
    pub fn life(&self, name: &str) -> Option<u32> {
        self.slot(name).ok().map(|i| self.nodes[i].life)
    }

    /// The live members the node named `name` knows of, as its events told them.
    pub fn view(&self, name: &str) -> Option<&BTreeMap<NodeName, NodeId>> {
        self.slot(name).ok().map(|i| &self.nodes[i].view)
    }

    /// The membership core of the node named `name` (its last life's, if stopped).
    pub fn membership(&self, name: &str) -> Option<&Membership> {
        self.slot(name).ok().map(|i| &self.nodes[i].core)
    }

    /// The live members the core of the node named `name` reports.
    pub fn members(&self, name: &str) -> Option<Vec<MemberStatus>> {
        self.membership(name).map(Membership::members)
    }

    /// Whether two nodes hold the same cookie.
    pub fn same_cookie(&self, a: &str, b: &str) -> bool {
        match (self.slot(a), self.slot(b)) {
            (Ok(a), Ok(b)) => self.nodes[a].cookie_group == self.nodes[b].cookie_group,
            _ => false,
        }
    }

    /// Whether every running node lists exactly the current ids of every other running node
    /// with its cookie, and nothing else.
    pub fn is_converged(&self) -> bool {
        self.nodes.iter().filter(|n| n.is_running()).all(|n| {
            let expected = self
                .nodes
                .iter()
                .filter(|o| o.is_running() && o.name != n.name && o.cookie_group == n.cookie_group);
            n.view.len() == expected.clone().count()
                && expected.into_iter().all(|o| n.view.get(&o.name) == Some(o.id()))
        })
    }

    /// Every membership event published so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Counters of the run so far.
    pub fn stats(&self) -> SimStats {
        self.stats
    }

    /// Events waiting in the queue.
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    fn slot(&self, name: &str) -> Result<usize, SimError> {
        let found = NodeName::new(name)
            .ok()
            .and_then(|n| self.by_name.get(&n).copied());
        found.ok_or_else(|| SimError::UnknownNode(name.into()))
    }

    fn running(&self, name: &str) -> Result<usize, SimError> {
        let idx = self.slot(name)?;
        if !self.nodes[idx].is_running() {
            return Err(SimError::NotRunning(name.into()));
        }
        Ok(idx)
    }

    /// The core's notion of now.
    fn instant(&self) -> Instant {
        self.base + self.now
    }

    fn take_violation(&mut self) -> Result<(), SimError> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(SimError::Violation(self.violations.remove(0)))
        }
    }
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("{} {:?}", n.id(), n.state))
            .collect();
        f.debug_struct("Sim")
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("nodes", &nodes)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
