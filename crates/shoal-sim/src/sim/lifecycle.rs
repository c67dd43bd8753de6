//! Starting, stopping and restarting simulated nodes.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use rand::Rng;
use shoal_proto::joining::Joining;
use shoal_proto::{Cookie, Creation, Member, Membership, NodeId, NodeName, ProtocolRange, Registry};

use super::node::{NodeState, SimNode};
use super::queue::SimEvent;
use super::supervisor::Supervision;
use super::{PORT, Sim};
use crate::error::SimError;

impl Sim {
    /// Starts a node holding the cluster cookie that joins through the nodes named `seeds`.
    pub fn add_node(&mut self, name: &str, seeds: &[&str]) -> Result<(), SimError> {
        let cookie = self.config.cookie.clone();
        self.add(name, seeds, &cookie, 0)
    }

    /// Starts a node for each of `names`, each with every other as a seed (as static seeds
    /// or DNS discovery would give them: a restarted node then rejoins instead of founding a
    /// cluster of its own), and runs until the cluster converged, at most 20 s of virtual
    /// time. Returns whether it did.
    pub fn form_mesh<S: AsRef<str>>(&mut self, names: &[S]) -> Result<bool, SimError> {
        for n in names {
            let seeds: Vec<&str> = names
                .iter()
                .map(AsRef::as_ref)
                .filter(|s| *s != n.as_ref())
                .collect();
            self.add_node(n.as_ref(), &seeds)?;
        }
        let poll = std::time::Duration::from_millis(20);
        self.run_until(Sim::is_converged, poll, std::time::Duration::from_secs(20))
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
        let cookie = Cookie::new(cookie).map_err(|_| SimError::BadCookie)?;
        let seeds_empty = seeds.is_empty();
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
            registry: Registry::new(core.local().process_id()),
            registry_routes: Vec::new(),
            registry_members: Vec::new(),
            registry_tick: self.now,
            supervision: Supervision::new(
                core.local().process_id(),
                self.now,
                self.config.rebalance_children,
            ),
            core,
            life: 0,
            state: NodeState::Running,
            seeds,
            dialing: Default::default(),
            timer_at: None,
            view: BTreeMap::new(),
            suspects: Default::default(),
            pause: Default::default(),
            joining: Joining::new(!seeds_empty),
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
        tracing::debug!(at = ?self.now, node = name, "fault: crash");
        self.stop(idx, NodeState::Crashed);
        self.take_violation()
    }

    /// Changes what `name`'s discovery proposes from now on to the addresses of `seeds`, as
    /// a DNS name that answers with other hosts does (`dns:NAME` in shoal-node). Discovery
    /// only proposes: fewer seeds must never take a live member away.
    pub fn set_seeds(&mut self, name: &str, seeds: &[&str]) -> Result<(), SimError> {
        let idx = self.slot(name)?;
        let seeds = seeds
            .iter()
            .map(|s| NodeName::new(*s).map_err(|_| SimError::BadName((*s).into())))
            .collect::<Result<Vec<_>, _>>()?;
        self.nodes[idx].seeds = seeds;
        Ok(())
    }

    /// Makes a node leave gracefully: it says goodbye on every link and keeps running until
    /// its core reports `has_left` (departure gossiped), then stops, as the driver does.
    pub fn leave(&mut self, name: &str) -> Result<(), SimError> {
        let idx = self.running(name)?;
        tracing::debug!(at = ?self.now, node = name, "fault: leave");
        self.drain(idx);
        self.supervise(idx); // stops its singletons before the goodbye
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
        let cookie = Cookie::new(&self.config.stranger_cookie).map_err(|_| SimError::BadCookie)?;
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
        tracing::debug!(at = ?self.now, node = name, "fault: restart");
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
        node.registry = Registry::new(core.local().process_id());
        node.registry_routes.clear();
        node.registry_members.clear();
        node.registry_tick = self.now;
        node.supervision = Supervision::new(
            core.local().process_id(),
            self.now,
            self.config.rebalance_children,
        );
        node.core = core;
        node.addr = addr;
        node.life += 1;
        node.state = NodeState::Running;
        node.dialing.clear();
        node.timer_at = None;
        node.view.clear();
        node.suspects.clear();
        node.joining = Joining::new(!node.seeds.is_empty());
        self.listeners.insert(addr, idx);
        self.queue
            .push(self.now, SimEvent::Discovery(self.nodes[idx].target(idx)));
        Ok(())
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
            process: creation,
        };
        let seed = self.rng.next_u64();
        Membership::new(member, cookie.clone(), self.config.membership.clone(), seed)
    }

    fn fresh_addr(&mut self) -> SocketAddr {
        self.next_addr += 1;
        let [_, b, c, d] = self.next_addr.to_be_bytes();
        SocketAddr::from(([10, b, c, d], PORT))
    }
}
