use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::node_id::Creation;

fn id(name: &str) -> NodeId {
    NodeId::new(NodeName::new(name).unwrap(), Creation(1))
}

/// Registries of several nodes and which pairs are connected; `pump` delivers every output
/// between connected nodes until all are idle.
struct Net {
    nodes: Vec<Registry>,
    connected: BTreeSet<(usize, usize)>,
    conflicts: Vec<(usize, String, Pid, Pid)>,
}

impl Net {
    fn new(n: usize) -> Self {
        let names = ["a", "b", "c", "d", "e"];
        let mut net = Self {
            nodes: (0..n).map(|i| Registry::new(id(names[i]))).collect(),
            connected: BTreeSet::new(),
            conflicts: Vec::new(),
        };
        for i in 0..n {
            for j in i + 1..n {
                net.connect(i, j);
            }
        }
        net.pump();
        net
    }

    fn id(&self, i: usize) -> NodeId {
        self.nodes[i].local.clone()
    }

    fn index(&self, node: &NodeId) -> usize {
        self.nodes.iter().position(|r| r.local == *node).unwrap()
    }

    fn connect(&mut self, i: usize, j: usize) {
        if self.connected.insert((i.min(j), i.max(j))) {
            let (a, b) = (self.id(i), self.id(j));
            self.nodes[i].handle_peer_up(b);
            self.nodes[j].handle_peer_up(a);
        }
    }

    fn cut(&mut self, i: usize, j: usize) {
        if self.connected.remove(&(i.min(j), i.max(j))) {
            let (a, b) = (self.id(i), self.id(j));
            self.nodes[i].handle_peer_down(&b);
            self.nodes[j].handle_peer_down(&a);
        }
    }

    fn linked(&self, i: usize, j: usize) -> bool {
        self.connected.contains(&(i.min(j), i.max(j)))
    }

    fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                self.nodes[i].flush();
                while let Some(output) = self.nodes[i].poll_output() {
                    moved = true;
                    let from = self.id(i);
                    match output {
                        RegistryOutput::Send { to, frame } => {
                            let j = self.index(&to);
                            if self.linked(i, j) {
                                self.nodes[j].handle_frame(&from, frame);
                            }
                        }
                        RegistryOutput::Broadcast(frame) => {
                            for j in 0..self.nodes.len() {
                                if j != i && self.linked(i, j) {
                                    self.nodes[j].handle_frame(&from, frame.clone());
                                }
                            }
                        }
                        RegistryOutput::Conflict { name, loser, winner } => {
                            self.conflicts.push((i, name, loser, winner));
                        }
                        RegistryOutput::GroupChanged { .. } => {}
                    }
                }
            }
            if !moved {
                return;
            }
        }
        panic!("registry traffic did not settle");
    }

    fn pid(&self, i: usize, actor: u64) -> Pid {
        Pid::new(self.id(i), actor)
    }

    /// Every connected node has the same view.
    fn assert_agree(&self) {
        let first = self.nodes[0].registered();
        for node in &self.nodes[1..] {
            assert_eq!(node.registered(), first);
        }
    }
}

#[test]
fn a_registration_is_seen_everywhere_and_a_second_one_is_refused() {
    let mut net = Net::new(3);
    let pid = net.pid(0, 7);
    net.nodes[0].register("x", pid.clone(), 100).unwrap();
    net.pump();
    for node in &net.nodes {
        assert_eq!(node.whereis("x"), Some(&pid));
    }
    let other = net.pid(1, 9);
    assert_eq!(
        net.nodes[1].register("x", other, 200),
        Err(RegisterError::AlreadyRegistered(pid.clone()))
    );
    assert_eq!(net.nodes[0].register("x", pid.clone(), 300), Ok(()));
    let foreign = net.pid(2, 1);
    assert_eq!(
        net.nodes[0].register("y", foreign.clone(), 1),
        Err(RegisterError::NotLocal(foreign))
    );
}

#[test]
fn names_vanish_when_their_actor_stops_or_their_node_goes_down() {
    let mut net = Net::new(3);
    let (p0, p1) = (net.pid(0, 1), net.pid(1, 1));
    net.nodes[0].register("a1", p0.clone(), 1).unwrap();
    net.nodes[0].register("a2", p0.clone(), 2).unwrap();
    net.nodes[1].register("b1", p1, 3).unwrap();
    net.pump();
    assert_eq!(
        net.nodes[0].unregister_pid(&p0),
        vec!["a1".to_owned(), "a2".to_owned()]
    );
    net.pump();
    assert!(
        net.nodes
            .iter()
            .all(|n| n.whereis("a1").is_none() && n.len() == 1)
    );
    net.cut(1, 0);
    net.cut(1, 2);
    net.pump();
    assert!(net.nodes[0].whereis("b1").is_none() && net.nodes[2].whereis("b1").is_none());
}

/// Whether node a still holds b's name after a `NodeDown` of an older membership life of b,
/// with a route to the process of b's name that `routed` gives (from b's process id).
fn keeps_after_node_down(routed: impl Fn(&NodeId) -> Option<NodeId>) -> bool {
    let mut net = Net::new(2);
    let (b, held) = (net.id(1), net.pid(1, 1));
    net.nodes[1].register("b1", held.clone(), 1).unwrap();
    net.pump();
    assert_eq!(net.nodes[0].whereis("b1"), Some(&held));
    let old_life = NodeId::new(b.name.clone(), Creation(b.creation.0 + 1));
    net.nodes[0].handle_node_down(&old_life, routed(&b).as_ref());
    net.nodes[0].whereis("b1").is_some()
}

#[test]
fn a_node_down_keeps_the_entries_of_a_process_routed_again_and_drops_the_others() {
    assert!(
        keeps_after_node_down(|b| Some(b.clone())),
        "the same process, routed again"
    );
    let restarted = |b: &NodeId| Some(NodeId::new(b.name.clone(), Creation(b.creation.0 + 2)));
    assert!(!keeps_after_node_down(restarted), "another process of that name");
    assert!(!keeps_after_node_down(|_| None), "no route");
}

#[test]
fn after_a_partition_heals_one_winner_remains_and_the_loser_is_told() {
    let mut net = Net::new(3);
    net.cut(0, 2);
    net.cut(1, 2);
    net.pump();
    // The same name on both sides; c registered it later, so a wins.
    {
        let pid = net.pid(0, 1);
        net.nodes[0].register("leader", pid, 1_000)
    }
    .unwrap();
    {
        let pid = net.pid(2, 5);
        net.nodes[2].register("leader", pid, 2_000)
    }
    .unwrap();
    net.pump();
    assert_eq!(net.nodes[2].whereis("leader"), Some(&net.pid(2, 5)));
    net.connect(0, 2);
    net.connect(1, 2);
    net.pump();
    net.assert_agree();
    assert_eq!(net.nodes[1].whereis("leader"), Some(&net.pid(0, 1)));
    assert_eq!(
        net.conflicts,
        vec![(2, "leader".to_owned(), net.pid(2, 5), net.pid(0, 1))]
    );
}

#[test]
fn group_members_replicate_and_leave_with_their_actor_or_node() {
    let mut net = Net::new(3);
    let (p0, p1) = (net.pid(0, 1), net.pid(1, 1));
    net.nodes[0].join("workers", p0.clone(), 1).unwrap();
    net.nodes[0].join("workers", p0.clone(), 2).unwrap(); // twice is once
    net.nodes[1].join("workers", p1.clone(), 3).unwrap();
    net.pump();
    for node in &net.nodes {
        assert_eq!(node.group_members("workers"), vec![p0.clone(), p1.clone()]);
        assert_eq!(node.groups(), vec![("workers".to_owned(), 2)]);
        assert!(node.is_empty(), "memberships are not names");
    }
    assert!(net.nodes[0].leave("workers", &p0));
    net.cut(1, 0);
    net.cut(1, 2);
    net.pump();
    assert!(
        net.nodes[0].group_members("workers").is_empty() && net.nodes[2].group_members("workers").is_empty()
    );
    assert_eq!(
        net.nodes[0].register("\0g\0workers\0x", p0.clone(), 9),
        Err(RegisterError::Reserved("\0g\0workers\0x".into()))
    );
}

#[test]
fn a_lost_delta_is_repaired_by_a_snapshot() {
    let mut net = Net::new(2);
    {
        let pid = net.pid(0, 1);
        net.nodes[0].register("one", pid, 1)
    }
    .unwrap();
    // Drop that delta on the floor, then send another: b sees a gap and asks for a snapshot.
    net.nodes[0].flush();
    while net.nodes[0].poll_output().is_some() {}
    {
        let pid = net.pid(0, 2);
        net.nodes[0].register("two", pid, 2)
    }
    .unwrap();
    net.pump();
    net.assert_agree();
    assert_eq!(net.nodes[1].len(), 2);
}

#[test]
fn a_delta_lost_with_nothing_after_it_is_repaired_by_the_periodic_digest() {
    let mut net = Net::new(2);
    {
        let pid = net.pid(0, 1);
        net.nodes[0].register("only", pid, 1)
    }
    .unwrap();
    net.nodes[0].flush();
    while net.nodes[0].poll_output().is_some() {}
    net.pump();
    assert_eq!(net.nodes[1].len(), 0);
    net.nodes[0].handle_tick();
    net.pump();
    net.assert_agree();
    assert_eq!(net.nodes[1].len(), 1);
}

#[derive(Debug, Clone)]
enum Op {
    Register(usize, u8, u64),
    Stop(usize, u64),
    Cut(usize, usize),
    Connect(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..3, 0u8..6, 0u64..4).prop_map(|(n, name, actor)| Op::Register(n, name, actor)),
        1 => (0usize..3, 0u64..4).prop_map(|(n, actor)| Op::Stop(n, actor)),
        1 => (0usize..3, 0usize..3).prop_map(|(a, b)| Op::Cut(a, b)),
        1 => (0usize..3, 0usize..3).prop_map(|(a, b)| Op::Connect(a, b)),
    ]
}

proptest! {
    /// Whatever happens, once everything is connected and quiet: every node has the same
    /// view, each name maps to a registration its owner still holds, and the winner is the
    /// rule's pick among the owners' claims. Traffic moves only after some operations, so
    /// changes held for a later flush meet cuts, reconnects and snapshots.
    #[test]
    fn replicas_converge_after_any_history(
        ops in proptest::collection::vec((op(), any::<bool>()), 1..60),
    ) {
        let mut net = Net::new(3);
        let mut clock = 0;
        for (op, pump) in ops {
            clock += 1;
            match op {
                Op::Register(n, name, actor) => {
                    let pid = net.pid(n, actor);
                    let _ = net.nodes[n].register(&format!("name{name}"), pid, clock);
                }
                Op::Stop(n, actor) => {
                    let pid = net.pid(n, actor);
                    net.nodes[n].unregister_pid(&pid);
                }
                Op::Cut(a, b) if a != b => net.cut(a, b),
                Op::Connect(a, b) if a != b => net.connect(a, b),
                _ => {}
            }
            if pump {
                net.pump();
            }
        }
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            net.connect(a, b);
        }
        net.pump();
        net.assert_agree();
        for (name, registration) in net.nodes[0].registered() {
            let owner = net.index(&registration.pid.node);
            prop_assert_eq!(net.nodes[owner].own_claim(&name), Some(&registration));
        }
        for node in &net.nodes {
            for (name, registration) in node.own_entries() {
                prop_assert_eq!(node.whereis(name), Some(&registration.pid));
            }
        }
    }
}

#[test]
fn held_changes_leave_as_one_delta_at_flush() {
    let mut net = Net::new(2);
    for actor in 0..3 {
        let pid = net.pid(0, actor);
        net.nodes[0].join("workers", pid, actor).unwrap();
    }
    assert_eq!(net.nodes[0].held_changes(), 3);
    let mut before_flush = std::iter::from_fn(|| net.nodes[0].poll_output());
    assert!(
        before_flush.all(|o| matches!(o, RegistryOutput::GroupChanged { .. })),
        "no frame leaves before the flush"
    );
    net.nodes[0].flush();
    let deltas: Vec<RegistryOutput> = std::iter::from_fn(|| net.nodes[0].poll_output()).collect();
    assert!(
        matches!(&deltas[..], [RegistryOutput::Broadcast(RegistryFrame::Delta { seq: 1, changes })] if changes.len() == 3),
        "{deltas:?}"
    );
}

#[test]
fn a_burst_leaves_as_deltas_of_bounded_size() {
    let mut registry = Registry::new(id("a"));
    let long = "x".repeat(1000);
    for k in 0..200 {
        registry
            .register(&format!("{long}{k}"), Pid::new(id("a"), 1), 1)
            .unwrap();
    }
    registry.flush();
    let mut changes = 0;
    let mut seqs = Vec::new();
    while let Some(RegistryOutput::Broadcast(RegistryFrame::Delta { seq, changes: c })) =
        registry.poll_output()
    {
        assert!(c.iter().map(|c| c.name().len()).sum::<usize>() < DELTA_SOFT_LIMIT + 1100);
        changes += c.len();
        seqs.push(seq);
    }
    assert_eq!(changes, 200, "no change is lost between deltas");
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert!(seqs.len() > 1);
}

#[test]
fn a_snapshot_asked_for_while_changes_are_held_carries_them_at_the_seq_after_them() {
    let mut net = Net::new(2);
    let pid = net.pid(0, 1);
    net.nodes[0].register("held", pid, 1).unwrap();
    let b = net.id(1);
    net.nodes[0].handle_frame(&b, RegistryFrame::SyncRequest);
    let outputs: Vec<RegistryOutput> = std::iter::from_fn(|| net.nodes[0].poll_output()).collect();
    assert!(matches!(
        &outputs[0],
        RegistryOutput::Broadcast(RegistryFrame::Delta { seq: 1, .. })
    ));
    assert!(
        matches!(&outputs[1], RegistryOutput::Send { frame: RegistryFrame::Snapshot { seq: 1, entries }, .. } if entries.len() == 1),
        "{outputs:?}"
    );
}

#[test]
fn a_claim_made_and_dropped_within_one_delta_does_not_beat_ours() {
    let mut net = Net::new(2);
    let (theirs, ours) = (net.pid(0, 1), net.pid(1, 1));
    // Node 0 claims x earlier than node 1 does, but drops it before its delta leaves; node 1
    // registers x before that delta arrives.
    net.nodes[0].register("x", theirs.clone(), 100).unwrap();
    net.nodes[0].unregister("x");
    net.nodes[1].register("x", ours.clone(), 200).unwrap();
    net.pump();
    assert!(net.conflicts.is_empty(), "{:?}", net.conflicts);
    net.assert_agree();
    assert_eq!(net.nodes[0].whereis("x"), Some(&ours));
}

#[test]
fn a_member_that_leaves_and_joins_within_one_delta_does_not_flap() {
    let mut net = Net::new(2);
    let pid = net.pid(0, 1);
    net.nodes[0].join("g", pid.clone(), 1).unwrap();
    net.pump();
    while net.nodes[1].poll_output().is_some() {}
    net.nodes[0].leave("g", &pid);
    net.nodes[0].join("g", pid.clone(), 2).unwrap();
    net.nodes[0].flush();
    let deltas: Vec<RegistryFrame> = std::iter::from_fn(|| net.nodes[0].poll_output())
        .filter_map(|output| match output {
            RegistryOutput::Broadcast(frame) => Some(frame),
            _ => None,
        })
        .collect();
    let [frame] = <[RegistryFrame; 1]>::try_from(deltas).expect("one delta");
    let from = net.id(0);
    net.nodes[1].handle_frame(&from, frame);
    assert_eq!(
        net.nodes[1].poll_output(),
        None,
        "no group event for a member that stayed"
    );
    assert_eq!(net.nodes[1].group_members("g"), vec![pid]);
}
