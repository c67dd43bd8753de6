//! Each simulated node's global-registry replica, driven the way shoal-node drives it:
//! digests when a route (a live, linked peer) appears and every 500 ms, frames over the
//! simulated links, replicas dropped on `NodeDown` unless the same process is routed again,
//! and the live members (linked or not) told whenever they change, for relaying.

use shoal_proto::registry::DIGEST_INTERVAL;

use shoal_proto::{LinkMessage, NodeId, Pid, RegisterError, Registration, RegistryFrame, RegistryOutput};

use super::Sim;
use super::queue::Target;
use crate::error::SimError;

impl Sim {
    /// Registers `name` on node `node` for its actor `actor` (actors are just ids here).
    pub fn register(
        &mut self,
        node: &str,
        name: &str,
        actor: u64,
    ) -> Result<Result<(), RegisterError>, SimError> {
        let idx = self.running_index(node)?;
        let pid = Pid::new(self.nodes[idx].core.local().process_id(), actor);
        let now_us = self.now.as_micros() as u64;
        let result = self.nodes[idx].registry.register(name, pid, now_us);
        self.flush_registry(idx);
        Ok(result)
    }

    /// Actor `actor` of node `node` joins process group `group`.
    pub fn join(
        &mut self,
        node: &str,
        group: &str,
        actor: u64,
    ) -> Result<Result<(), RegisterError>, SimError> {
        let idx = self.running_index(node)?;
        let pid = Pid::new(self.nodes[idx].core.local().process_id(), actor);
        let now_us = self.now.as_micros() as u64;
        let result = self.nodes[idx].registry.join(group, pid, now_us);
        self.flush_registry(idx);
        Ok(result)
    }

    /// Node `node`'s view of every process group and its members (`None` if it does not run).
    pub fn groups_view(&self, node: &str) -> Option<Vec<(String, Vec<Pid>)>> {
        let &idx = self.by_name.get(&shoal_proto::NodeName::new(node).ok()?)?;
        let registry = &self.nodes[idx].registry;
        self.nodes[idx].is_alive().then(|| {
            registry
                .groups()
                .into_iter()
                .map(|(group, _)| {
                    let members = registry.group_members(&group);
                    (group, members)
                })
                .collect()
        })
    }

    /// Actor `actor` of node `node` stops: its names go.
    pub fn stop_actor(&mut self, node: &str, actor: u64) -> Result<(), SimError> {
        let idx = self.running_index(node)?;
        let pid = Pid::new(self.nodes[idx].core.local().process_id(), actor);
        self.nodes[idx].registry.unregister_pid(&pid);
        self.flush_registry(idx);
        Ok(())
    }

    /// Node `node`'s view of the registry, sorted by name (`None` if it does not run).
    pub fn registry_view(&self, node: &str) -> Option<Vec<(String, Registration)>> {
        let &idx = self.by_name.get(&shoal_proto::NodeName::new(node).ok()?)?;
        self.nodes[idx]
            .is_alive()
            .then(|| self.nodes[idx].registry.registered())
    }

    /// The process identity node `node` runs as now, as pids carry it.
    pub fn process_id(&self, node: &str) -> Option<NodeId> {
        let &idx = self.by_name.get(&shoal_proto::NodeName::new(node).ok()?)?;
        self.nodes[idx]
            .is_alive()
            .then(|| self.nodes[idx].core.local().process_id())
    }

    pub(super) fn running_index(&self, node: &str) -> Result<usize, SimError> {
        let name = shoal_proto::NodeName::new(node).map_err(|_| SimError::UnknownNode(node.to_owned()))?;
        let &idx = self
            .by_name
            .get(&name)
            .ok_or_else(|| SimError::UnknownNode(node.to_owned()))?;
        if !self.nodes[idx].is_alive() {
            return Err(SimError::NotRunning(node.to_owned()));
        }
        Ok(idx)
    }

    /// After the core of node `idx` acted: tell the registry about new routes and nodes that
    /// went down, send its periodic digest when due, and perform its outputs.
    pub(super) fn registry_after_core(&mut self, idx: usize, downs: Vec<NodeId>) -> Vec<NodeId> {
        if !self.nodes[idx].is_alive() {
            return Vec::new();
        }
        let node = &mut self.nodes[idx];
        let routes = node.core.routes();
        let added: Vec<NodeId> = routes
            .iter()
            .filter(|r| !node.registry_routes.contains(r))
            .map(|(id, _)| id.clone())
            .collect();
        // The live members or their links changed: tell the registry (it relays entries of
        // live members without a link from other nodes).
        let members_changed =
            routes != node.registry_routes || !node.view.values().eq(&node.registry_members);
        node.registry_routes = routes;
        let downs_empty = downs.is_empty();
        for down in downs {
            let routed = node.registry_routes.iter().find(|(id, _)| id.name == down.name);
            node.registry.handle_node_down(&down, routed.map(|(id, _)| id));
        }
        for peer in &added {
            node.registry.handle_peer_up(peer.clone());
        }
        if members_changed || !downs_empty {
            node.registry.handle_members(&node.core.members());
            node.registry_members = node.view.values().cloned().collect();
        }
        if self.now >= node.registry_tick + DIGEST_INTERVAL {
            node.registry_tick = self.now;
            node.registry.handle_tick();
        }
        self.flush_registry(idx);
        added
    }

    /// A registry frame arrived at node `idx` from the node life `from`.
    pub(super) fn on_registry_frame(&mut self, idx: usize, from: Target, frame: RegistryFrame) {
        if !self.nodes[from.node].is(from) {
            return; // sent by a life that has since ended
        }
        let sender = self.nodes[from.node].core.local().process_id();
        self.nodes[idx].registry.handle_frame(&sender, frame);
        self.flush_registry(idx);
        self.supervise(idx);
    }

    /// Sends what node `idx`'s registry queued over its routes.
    pub(super) fn flush_registry(&mut self, idx: usize) {
        self.nodes[idx].registry.flush();
        while let Some(output) = self.nodes[idx].registry.poll_output() {
            match output {
                RegistryOutput::Send { to, frame } => {
                    let conn = self.nodes[idx]
                        .registry_routes
                        .iter()
                        .find(|(id, _)| *id == to)
                        .map(|(_, conn)| *conn);
                    if let Some(conn) = conn {
                        self.send_link(idx, conn, LinkMessage::Registry(frame));
                    }
                }
                RegistryOutput::Broadcast(frame) => {
                    let conns: Vec<_> = self.nodes[idx].registry_routes.iter().map(|(_, c)| *c).collect();
                    for conn in conns {
                        self.send_link(idx, conn, LinkMessage::Registry(frame.clone()));
                    }
                }
                // A supervised child or singleton that lost stops; test actors are only ids.
                RegistryOutput::Conflict { name, loser, winner } => {
                    self.on_name_conflict(idx, &name, &loser, winner);
                }
                RegistryOutput::GroupChanged { .. } => {}
            }
        }
    }
}
