//! The simulator: many membership cores, one virtual clock, one seeded RNG, one network.
//!
//! Everything that happens is an event in one queue ordered by (virtual time, sequence), so a
//! run is a pure function of its seed and its commands. [`Sim::step`] handles one event, then
//! checks the invariants of every node that event touched (see [`Sim::check_node`]).

mod conn;
mod dispatch;
mod invariants;
mod links;
mod network;
mod node;
mod queue;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shoal_proto::{
    ConnId, Cookie, Creation, Member, MemberStatus, Membership, NodeId, NodeName, ProtocolRange,
};

use self::conn::Conn;
use self::network::Network;
pub use self::node::NodeState;
use self::node::SimNode;
use self::queue::{EventQueue, SimEvent};
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

    /// Starts a node holding the cluster cookie that joins through the nodes named `seeds`.
    pub fn add_node(&mut self, name: &str, seeds: &[&str]) -> Result<(), SimError> {
        let cookie = self.config.cookie.clone();
        self.add(name, seeds, &cookie, 0)
    }

    /// Starts a node holding a different cookie: its handshakes and datagrams must fail.
    pub fn add_stranger(&mut self, name: &str, seeds: &[&str]) -> Result<(), SimError> {
        let cookie = self.config.stranger_cookie.clone();
        self.add(name, seeds, &cookie, 1)
    }

    fn add(&mut self, name: &str, seeds: &[&str], cookie: &str, cookie_group: u32) -> Result<(), SimError> {
        let name = NodeName::new(name).map_err(|_| SimError::BadName(name.into()))?;
        if self.by_name.contains_key(&name) {
            return Err(SimError::DuplicateNode(name.to_string()));
        }
        let seeds = seeds
            .iter()
            .map(|s| NodeName::new(*s).map_err(|_| SimError::BadName((*s).into())))
            .collect::<Result<Vec<_>, _>>()?;
        let cookie = Cookie::new(cookie).map_err(|_| SimError::BadName(cookie.into()))?;
        let addr = self.fresh_addr();
        let idx = self.nodes.len();
        let core = self.new_core(&name, Creation(self.now.as_micros() as u64 + 1), addr, &cookie);
        self.groups.insert(core.local().id.clone(), cookie_group);
        self.nodes.push(SimNode {
            name: name.clone(),
            addr,
            cookie,
            cookie_group,
            ids: vec![core.local().id.clone()],
            core,
            life: 0,
            state: NodeState::Running,
            seeds,
            dialing: Default::default(),
            timer_at: None,
            view: BTreeMap::new(),
            suspects: Default::default(),
        });
        self.by_name.insert(name, idx);
        self.listeners.insert(addr, idx);
        self.queue
            .push(self.now, SimEvent::Discovery(self.nodes[idx].target(idx)));
        Ok(())
    }

    /// Stops a node without warning: its connections close (peers see the link drop) and
    /// nothing listens on its address any more, so re-dials are refused. A leaving node may
    /// crash too.
    pub fn crash(&mut self, name: &str) -> Result<(), SimError> {
        let idx = self.slot(name)?;
        if !self.nodes[idx].is_alive() {
            return Err(SimError::NotRunning(name.into()));
        }
        self.stop(idx, NodeState::Crashed);
        self.take_violation()
    }

    /// Makes a node leave gracefully: it says goodbye on every link and keeps running until
    /// its core reports `has_left` (departure gossiped), then stops, as the driver does.
    pub fn leave(&mut self, name: &str) -> Result<(), SimError> {
        let idx = self.running(name)?;
        let now = self.instant();
        self.nodes[idx].state = NodeState::Leaving;
        self.nodes[idx].core.leave(now);
        self.flush(idx);
        self.take_violation()
    }

    /// Starts a stopped node again on the same address, with a higher creation.
    pub fn restart(&mut self, name: &str) -> Result<(), SimError> {
        self.start_again(name, false, None)
    }

    /// Starts a stopped node again on a new address, with a higher creation.
    pub fn restart_at_new_address(&mut self, name: &str) -> Result<(), SimError> {
        self.start_again(name, true, None)
    }

    /// Starts a stopped node again on the same address but with the stranger cookie, as an
    /// operator who mistyped it would: its old life must go down and the new one never join.
    pub fn restart_as_stranger(&mut self, name: &str) -> Result<(), SimError> {
        let cookie = Cookie::new(&self.config.stranger_cookie).map_err(|_| SimError::BadName(name.into()))?;
        self.start_again(name, false, Some((cookie, 1)))
    }

    fn start_again(
        &mut self,
        name: &str,
        new_address: bool,
        cookie: Option<(Cookie, u32)>,
    ) -> Result<(), SimError> {
        let idx = self.slot(name)?;
        if self.nodes[idx].is_alive() {
            return Err(SimError::StillRunning(name.into()));
        }
        let addr = if new_address {
            self.fresh_addr()
        } else {
            self.nodes[idx].addr
        };
        let last = self.nodes[idx].ids.last().map_or(0, |id| id.creation.0);
        let creation = Creation((self.now.as_micros() as u64 + 1).max(last + 1));
        if let Some((cookie, group)) = cookie {
            self.nodes[idx].cookie = cookie;
            self.nodes[idx].cookie_group = group;
        }
        let (node_name, cookie) = (self.nodes[idx].name.clone(), self.nodes[idx].cookie.clone());
        let core = self.new_core(&node_name, creation, addr, &cookie);
        self.groups
            .insert(core.local().id.clone(), self.nodes[idx].cookie_group);
        let node = &mut self.nodes[idx];
        node.ids.push(core.local().id.clone());
        node.core = core;
        node.addr = addr;
        node.life += 1;
        node.state = NodeState::Running;
        node.dialing.clear();
        node.timer_at = None;
        node.view.clear();
        node.suspects.clear();
        self.listeners.insert(addr, idx);
        self.queue
            .push(self.now, SimEvent::Discovery(self.nodes[idx].target(idx)));
        Ok(())
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
        self.net.partition(&a, &b);
        Ok(())
    }

    /// Removes every partition.
    pub fn heal(&mut self) {
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
        self.dispatch(event);
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

    fn new_core(
        &mut self,
        name: &NodeName,
        creation: Creation,
        listen: SocketAddr,
        cookie: &Cookie,
    ) -> Membership {
        let member = Member {
            id: NodeId::new(name.clone(), creation),
            listen,
            http: None,
            roles: Vec::new(),
            version: "sim".into(),
            protocol: ProtocolRange::CURRENT,
        };
        let seed = self.rng.next_u64();
        Membership::new(member, cookie.clone(), self.config.membership.clone(), seed)
    }

    fn fresh_addr(&mut self) -> SocketAddr {
        self.next_addr += 1;
        let [_, b, c, d] = self.next_addr.to_be_bytes();
        SocketAddr::from(([10, b, c, d], PORT))
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
