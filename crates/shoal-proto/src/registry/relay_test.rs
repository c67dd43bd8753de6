use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::actor_wire::Pid;
use crate::member::test_member;
use crate::membership::Liveness;
use crate::registry::{RegisterError, RegistryOutput};

const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];

/// Registries of several nodes, all live members of one another, and which pairs hold a
/// link; frames move over links only.
struct Mesh {
    nodes: Vec<Registry>,
    links: BTreeSet<(usize, usize)>,
    /// Whether node i's membership lists node j (index) as alive.
    down: BTreeSet<(usize, usize)>,
}

impl Mesh {
    fn new(n: usize) -> Self {
        let nodes = (0..n)
            .map(|i| Registry::new(test_member(NAMES[i], 1, 7000).id))
            .collect();
        let mut mesh = Self {
            nodes,
            links: BTreeSet::new(),
            down: BTreeSet::new(),
        };
        for i in 0..n {
            for j in i + 1..n {
                mesh.link(i, j);
            }
        }
        mesh.settle();
        mesh
    }

    fn linked(&self, i: usize, j: usize) -> bool {
        self.links.contains(&(i.min(j), i.max(j)))
    }

    fn link(&mut self, i: usize, j: usize) {
        if i != j && self.links.insert((i.min(j), i.max(j))) {
            let (a, b) = (self.nodes[i].local.clone(), self.nodes[j].local.clone());
            self.nodes[i].handle_peer_up(b);
            self.nodes[j].handle_peer_up(a);
        }
        self.tell_members();
    }

    /// The link goes silent, as a partition of that pair only leaves it: both stay members.
    fn cut(&mut self, i: usize, j: usize) {
        self.links.remove(&(i.min(j), i.max(j)));
        self.tell_members();
    }

    /// Node `i`'s membership declares node `j` down.
    fn declare_down(&mut self, i: usize, j: usize) {
        self.down.insert((i, j));
        let id = self.nodes[j].local.clone();
        self.nodes[i].handle_peer_down(&id);
        self.tell_members();
    }

    fn tell_members(&mut self) {
        for i in 0..self.nodes.len() {
            let members: Vec<MemberStatus> = (0..self.nodes.len())
                .filter(|&j| j != i && !self.down.contains(&(i, j)))
                .map(|j| MemberStatus {
                    member: test_member(NAMES[j], 1, 7000),
                    liveness: Liveness::Alive,
                    linked: self.linked(i, j),
                    rtt: None,
                    last_heard: None,
                })
                .collect();
            self.nodes[i].handle_members(&members);
        }
    }

    fn index(&self, node: &NodeId) -> usize {
        self.nodes.iter().position(|r| r.local == *node).unwrap()
    }

    /// Delivers frames until every node is idle; returns the frames sent.
    fn pump(&mut self) -> Vec<(usize, RegistryFrame)> {
        let mut sent = Vec::new();
        for _ in 0..10_000 {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                self.nodes[i].flush();
                while let Some(output) = self.nodes[i].poll_output() {
                    moved = true;
                    let from = self.nodes[i].local.clone();
                    let targets: Vec<(usize, RegistryFrame)> = match output {
                        RegistryOutput::Send { to, frame } => vec![(self.index(&to), frame)],
                        RegistryOutput::Broadcast(frame) => (0..self.nodes.len())
                            .filter(|&j| j != i)
                            .map(|j| (j, frame.clone()))
                            .collect(),
                        RegistryOutput::Conflict { .. } | RegistryOutput::GroupChanged { .. } => vec![],
                    };
                    for (j, frame) in targets {
                        if self.linked(i, j) {
                            sent.push((i, frame.clone()));
                            self.nodes[j].handle_frame(&from, frame);
                        }
                    }
                }
            }
            if !moved {
                return sent;
            }
        }
        panic!("registry traffic did not settle");
    }

    /// Digest ticks until quiet: enough rounds for a copy to cross the mesh.
    fn settle(&mut self) -> Vec<(usize, RegistryFrame)> {
        let mut sent = self.pump();
        for _ in 0..(2 * self.nodes.len() as u64 * RELAY_RETRY_TICKS) {
            for node in &mut self.nodes {
                node.handle_tick();
            }
            sent.extend(self.pump());
        }
        sent
    }

    fn pid(&self, i: usize, actor: u64) -> Pid {
        Pid::new(self.nodes[i].local.clone(), actor)
    }

    /// Every node has the same names and the same members of `group`.
    fn assert_agree(&self, group: &str) {
        let (names, members) = (self.nodes[0].registered(), self.nodes[0].group_members(group));
        for node in &self.nodes[1..] {
            assert_eq!(node.registered(), names, "names on {}", node.local);
            assert_eq!(node.group_members(group), members, "{group} on {}", node.local);
        }
    }
}

#[test]
fn a_pair_without_a_link_gets_each_others_names_and_groups_through_a_third_node() {
    let mut mesh = Mesh::new(3);
    mesh.cut(1, 2);
    let (b, c) = (mesh.pid(1, 1), mesh.pid(2, 1));
    mesh.nodes[1].register("on-b", b.clone(), 1).unwrap();
    mesh.nodes[2].register("on-c", c.clone(), 2).unwrap();
    mesh.nodes[1].join("g", b.clone(), 3).unwrap();
    mesh.nodes[2].join("g", c.clone(), 4).unwrap();
    mesh.settle();
    mesh.assert_agree("g");
    assert_eq!(mesh.nodes[1].whereis("on-c"), Some(&c));
    assert_eq!(mesh.nodes[1].group_members("g"), vec![b.clone(), c.clone()]);

    // Removals cross the same way.
    mesh.nodes[2].unregister_pid(&c);
    mesh.settle();
    mesh.assert_agree("g");
    assert_eq!(mesh.nodes[1].whereis("on-c"), None);
    assert_eq!(mesh.nodes[1].group_members("g"), vec![b]);
}

#[test]
fn a_name_taken_on_the_far_side_is_refused_once_relayed_and_a_crossing_claim_resolves() {
    let mut mesh = Mesh::new(3);
    mesh.cut(1, 2);
    let (b, c) = (mesh.pid(1, 1), mesh.pid(2, 1));
    mesh.nodes[1].register("x", b.clone(), 1).unwrap();
    mesh.nodes[2].register("x", c.clone(), 2).unwrap(); // crosses: b's claim not here yet
    mesh.settle();
    mesh.assert_agree("g");
    assert_eq!(
        mesh.nodes[2].whereis("x"),
        Some(&b),
        "the earlier claim wins everywhere"
    );
    assert_eq!(
        mesh.nodes[2].register("x", c, 3),
        Err(RegisterError::AlreadyRegistered(b))
    );
}

#[test]
fn a_settled_mesh_sends_one_summary_per_link_and_tick() {
    let mut mesh = Mesh::new(3);
    let pid = mesh.pid(0, 1);
    mesh.nodes[0].register("x", pid, 1).unwrap();
    mesh.settle();
    for node in &mut mesh.nodes {
        node.handle_tick();
    }
    let sent = mesh.pump();
    assert_eq!(sent.len(), 6, "{sent:?}");
    assert!(
        sent.iter()
            .all(|(_, f)| matches!(f, RegistryFrame::Summary { .. })),
        "{sent:?}"
    );
}

#[test]
fn a_linked_owner_is_never_copied_through_another_node() {
    let mut mesh = Mesh::new(3);
    let pid = mesh.pid(2, 1);
    // c's delta reaches a but is lost on its way to b, which is still linked to c.
    mesh.nodes[2].register("x", pid, 1).unwrap();
    mesh.nodes[2].flush();
    let RegistryOutput::Broadcast(delta) = mesh.nodes[2].poll_output().unwrap() else {
        panic!("no delta")
    };
    let c = mesh.nodes[2].local.clone();
    mesh.nodes[0].handle_frame(&c, delta);
    // a and b compare what they hold (c's own digest would repair b directly).
    mesh.nodes[0].handle_tick();
    mesh.nodes[1].handle_tick();
    let sent = mesh.pump();
    assert!(
        sent.iter()
            .any(|(i, f)| *i == 0 && matches!(f, RegistryFrame::Versions { .. })),
        "{sent:?}"
    );
    assert!(
        !sent
            .iter()
            .any(|(_, f)| matches!(f, RegistryFrame::RelayRequest { .. })),
        "{sent:?}"
    );
    mesh.settle(); // c's own digest repairs b
    mesh.assert_agree("g");
}

#[test]
fn a_node_that_declared_an_owner_down_takes_no_copy_of_it_until_it_is_alive_again() {
    let mut mesh = Mesh::new(3);
    mesh.cut(1, 2);
    let pid = mesh.pid(2, 1);
    mesh.nodes[2].register("on-c", pid.clone(), 1).unwrap();
    mesh.settle();
    assert_eq!(mesh.nodes[1].whereis("on-c"), Some(&pid));

    // b's membership declares c down; a still holds c's entries and keeps offering them.
    mesh.declare_down(1, 2);
    mesh.settle();
    assert_eq!(mesh.nodes[1].whereis("on-c"), None);
    assert_eq!(mesh.nodes[0].whereis("on-c"), Some(&pid));

    // c is alive again in b's view (a renewal keeps the process): the copy comes back.
    mesh.down.clear();
    mesh.tell_members();
    mesh.settle();
    assert_eq!(mesh.nodes[1].whereis("on-c"), Some(&pid));
}

#[test]
fn an_older_copy_never_replaces_a_newer_one() {
    let mut mesh = Mesh::new(3);
    mesh.cut(1, 2);
    let pid = mesh.pid(2, 1);
    mesh.nodes[2].register("on-c", pid.clone(), 1).unwrap();
    mesh.settle();
    let (a, c) = (mesh.nodes[0].local.clone(), mesh.nodes[2].local.clone());
    let stale = RegistryFrame::Relayed {
        owner: c.clone(),
        seq: 0,
        entries: vec![],
    };
    mesh.nodes[1].handle_frame(&a, stale);
    assert_eq!(mesh.nodes[1].whereis("on-c"), Some(&pid));
    // A copy naming pids of another node is not taken as the owner's.
    let forged = RegistryFrame::Relayed {
        owner: c,
        seq: 99,
        entries: vec![(
            "forged".into(),
            Registration {
                pid: mesh.pid(0, 9),
                clock: 1,
            },
        )],
    };
    mesh.nodes[1].handle_frame(&a, forged);
    assert_eq!(mesh.nodes[1].whereis("forged"), None);
}

#[derive(Debug, Clone)]
enum Op {
    Register(usize, u8, u64),
    Join(usize, u64),
    Stop(usize, u64),
    Cut(usize, usize),
    Link(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..4, 0u8..6, 0u64..4).prop_map(|(n, name, actor)| Op::Register(n, name, actor)),
        2 => (0usize..4, 0u64..4).prop_map(|(n, actor)| Op::Join(n, actor)),
        1 => (0usize..4, 0u64..4).prop_map(|(n, actor)| Op::Stop(n, actor)),
        2 => (0usize..4, 0usize..4).prop_map(|(a, b)| Op::Cut(a, b)),
        1 => (0usize..4, 0usize..4).prop_map(|(a, b)| Op::Link(a, b)),
    ]
}

/// Whether every node reaches every other over links, directly or not.
fn connected(mesh: &Mesh) -> bool {
    let mut seen = BTreeSet::from([0]);
    let mut todo = vec![0];
    while let Some(i) = todo.pop() {
        for j in 0..mesh.nodes.len() {
            if mesh.linked(i, j) && seen.insert(j) {
                todo.push(j);
            }
        }
    }
    seen.len() == mesh.nodes.len()
}

proptest! {
    /// Whatever happens, once the links that remain connect everyone (not necessarily
    /// directly) and traffic is quiet: every node has the same names and group members,
    /// and each name is held by a registration its owner still holds.
    #[test]
    fn nodes_that_reach_each_other_agree_whatever_pairs_are_cut(
        ops in proptest::collection::vec((op(), any::<bool>()), 1..50),
    ) {
        let mut mesh = Mesh::new(4);
        let mut clock = 0;
        for (op, tick) in ops {
            clock += 1;
            match op {
                Op::Register(n, name, actor) => {
                    let pid = mesh.pid(n, actor);
                    let _ = mesh.nodes[n].register(&format!("name{name}"), pid, clock);
                }
                Op::Join(n, actor) => {
                    let pid = mesh.pid(n, actor);
                    let _ = mesh.nodes[n].join("g", pid, clock);
                }
                Op::Stop(n, actor) => {
                    let pid = mesh.pid(n, actor);
                    mesh.nodes[n].unregister_pid(&pid);
                }
                Op::Cut(a, b) => {
                    mesh.cut(a, b);
                    if !connected(&mesh) {
                        mesh.link(a, b);
                    }
                }
                Op::Link(a, b) => mesh.link(a, b),
            }
            if tick {
                for node in &mut mesh.nodes {
                    node.handle_tick();
                }
            }
            mesh.pump();
        }
        mesh.settle();
        mesh.assert_agree("g");
        for (name, registration) in mesh.nodes[0].registered() {
            let owner = mesh.index(&registration.pid.node);
            prop_assert_eq!(mesh.nodes[owner].own_claim(&name), Some(&registration));
        }
    }
}
