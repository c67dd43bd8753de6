use proptest::prelude::*;
use std::collections::BTreeSet;

use super::*;
use bytes::Bytes;

use crate::node_id::Creation;
use crate::placement::PlacementHints;

fn name(n: &str) -> NodeName {
    NodeName::new(n).unwrap()
}

/// The first life of node `n`, as a table's writer.
fn process(n: &str) -> NodeId {
    NodeId::new(name(n), Creation(1))
}

fn spec(id: &str) -> ChildSpec {
    ChildSpec {
        id: id.to_owned(),
        factory: "f".into(),
        args: Bytes::new(),
        restart: Restart::Permanent,
        placement: PlacementHints::default(),
        intensity: Intensity::default(),
    }
}

/// Entries as nodes write them: one version is one write, so what an entry holds is a
/// function of its id and version.
fn arb_entry() -> impl Strategy<Value = ChildEntry> {
    let nodes = ["a", "b", "c"];
    (0..4usize, 0..6u64, 0..3usize).prop_map(move |(id, counter, writer)| {
        let id = format!("child-{id}");
        let mix = counter as usize + writer;
        ChildEntry {
            record: (!mix.is_multiple_of(3)).then(|| ChildRecord::new(spec(&id), name(nodes[mix % 3]))),
            id,
            version: Version {
                counter,
                node: process(nodes[writer]),
            },
            // Some writes continue an earlier start (of any writer), some start their own.
            incarnation: Version {
                counter: counter.saturating_sub((mix % 3) as u64),
                node: process(nodes[(writer + mix) % 3]),
            },
        }
    })
}

fn merged(entries: &[ChildEntry]) -> ChildTable {
    let mut table = ChildTable::new(process("x"));
    for e in entries {
        table.merge(e.clone());
    }
    table
}

fn contents(t: &ChildTable) -> (Vec<ChildEntry>, u64) {
    (t.entries.values().cloned().collect(), t.digest())
}

proptest! {
    /// Any order, any grouping and any repetition of the same entries gives the same table
    /// and the same digest.
    #[test]
    fn merging_is_commutative_associative_and_idempotent(
        entries in prop::collection::vec(arb_entry(), 0..24),
        seed: u64,
    ) {
        let once = merged(&entries);
        let mut shuffled = entries.clone();
        let n = shuffled.len().max(1);
        shuffled.rotate_left((seed as usize) % n);
        shuffled.reverse();
        let mut twice = shuffled.clone();
        twice.extend(entries.iter().cloned());
        prop_assert_eq!(contents(&once), contents(&merged(&shuffled)));
        prop_assert_eq!(contents(&once), contents(&merged(&twice)));
        // Grouping: merging two halves into separate tables, then one into the other.
        let (left, right) = entries.split_at(entries.len() / 2);
        let mut a = merged(left);
        for e in merged(right).entries.into_values() {
            a.merge(e);
        }
        prop_assert_eq!(contents(&once), contents(&a));
    }

    /// Two tables written concurrently converge through digests and snapshots.
    #[test]
    fn digests_repair_tables_that_missed_every_delta(
        writes in prop::collection::vec((any::<bool>(), 0..5usize, any::<bool>()), 1..30),
    ) {
        let (ida, idb) = (NodeId::new(name("a"), Creation(1)), NodeId::new(name("b"), Creation(1)));
        let mut a = ChildTable::new(process("a"));
        let mut b = ChildTable::new(process("b"));
        for (on_a, child, live) in writes {
            let id = format!("c{child}");
            let table = if on_a { &mut a } else { &mut b };
            table.write(&id, live.then(|| ChildRecord::new(spec(&id), name("a"))));
        }
        a.flush();
        b.flush();
        while a.poll_output().is_some() || b.poll_output().is_some() {} // deltas lost
        a.handle_tick(1);
        for _ in 0..4 {
            while let Some(out) = a.poll_output() {
                let frame = match out { ChildOutput::Send { frame, .. } | ChildOutput::Broadcast(frame) => frame };
                b.handle_frame(&ida, frame);
            }
            while let Some(out) = b.poll_output() {
                let frame = match out { ChildOutput::Send { frame, .. } | ChildOutput::Broadcast(frame) => frame };
                a.handle_frame(&idb, frame);
            }
        }
        prop_assert_eq!(contents(&a), contents(&b));
    }
}

#[test]
fn a_new_life_reusing_its_old_lifes_counter_still_converges() {
    // The old life of "a" wrote counter 1 before it died; its new life starts a fresh table
    // and writes counter 1 again, with other content. Both replicas must pick the same.
    let mut old_life = ChildTable::new(process("a"));
    let mut new_life = ChildTable::new(NodeId::new(name("a"), Creation(2)));
    old_life.write("c", Some(ChildRecord::new(spec("c"), name("b"))));
    new_life.write("c", Some(ChildRecord::new(spec("c"), name("a"))));
    let (from_old, from_new) = (old_life.entries["c"].clone(), new_life.entries["c"].clone());
    assert_eq!(from_old.version.counter, from_new.version.counter);
    assert_ne!(
        old_life.digest(),
        new_life.digest(),
        "the digests tell the two apart"
    );
    old_life.merge(from_new);
    new_life.merge(from_old);
    assert_eq!(old_life.digest(), new_life.digest());
    assert_eq!(
        old_life.get("c").map(|r| r.owner.clone()),
        Some(name("a")),
        "the newer life wins"
    );
}

#[test]
fn a_tombstone_wins_over_older_writes_and_keeps_the_child_removed() {
    let mut a = ChildTable::new(process("a"));
    a.write("c", Some(ChildRecord::new(spec("c"), name("a"))));
    let old = a.entries["c"].clone();
    a.write("c", None);
    assert!(!a.merge(old), "an older entry must not bring the child back");
    assert!(a.get("c").is_none());
    assert_eq!(a.children().count(), 0);
}

/// Child "c" started from `a` and owned by `b`, as both replicas hold it before the race:
/// `b`'s clock runs ahead of `a`'s (it wrote other children meanwhile).
fn started_on_a_owned_by_b() -> (ChildTable, ChildTable) {
    let mut a = ChildTable::new(process("a"));
    let mut b = ChildTable::new(process("b"));
    a.start("c", ChildRecord::new(spec("c"), name("b")));
    for i in 0..5 {
        b.write(&format!("other{i}"), None);
    }
    b.merge(a.entries["c"].clone());
    (a, b)
}

/// The owner's record of the start (a write of the live child, as the manager's `started`
/// makes), with `b`'s higher counter.
fn record_start_on(b: &mut ChildTable) -> ChildEntry {
    let mut r = b.get("c").cloned().unwrap();
    r.starts += 1;
    b.write("c", Some(r));
    b.entries["c"].clone()
}

#[test]
fn a_terminate_wins_over_a_start_record_with_a_higher_counter_that_arrives_after_it() {
    let (mut a, mut b) = started_on_a_owned_by_b();
    a.write("c", None); // terminate_child right after start_child returned
    let tombstone = a.entries["c"].clone();
    let started = record_start_on(&mut b);
    assert!(
        started.version > tombstone.version,
        "the race: the start record is newer by counter"
    );
    assert!(
        !a.merge(started),
        "a write of the ended incarnation must not bring the child back"
    );
    assert!(
        b.merge(tombstone),
        "the tombstone wins over the start record it did not see"
    );
    assert!(a.get("c").is_none() && b.get("c").is_none());
    assert_eq!(a.entries["c"], b.entries["c"]);
}

#[test]
fn a_terminate_wins_over_a_restart_with_a_higher_counter_that_arrived_before_it() {
    let (mut a, mut b) = started_on_a_owned_by_b();
    let first = a.entries["c"].clone();
    record_start_on(&mut b);
    let mut r = b.get("c").cloned().unwrap();
    r.last_start = StartKind::Restarted {
        reason: crate::actor_wire::ExitReason::Error("crashed".into()),
    };
    b.write("c", Some(r));
    let restarted = b.entries["c"].clone();
    a.write("c", None);
    let tombstone = a.entries["c"].clone();
    assert!(restarted.version > tombstone.version);
    // A third replica gets the restart first, then the tombstone.
    let mut c = ChildTable::new(process("c"));
    c.merge(first);
    assert!(c.merge(restarted.clone()));
    assert!(
        c.merge(tombstone.clone()),
        "the tombstone wins although its counter is lower"
    );
    assert!(c.get("c").is_none());
    // The owner sees it too, and a copy of the restart arriving again changes nothing.
    assert!(b.merge(tombstone));
    assert!(!b.merge(restarted));
    assert!(b.get("c").is_none());
    assert_eq!(b.entries["c"], c.entries["c"]);
}

#[test]
fn a_new_start_after_a_terminate_brings_the_child_back_and_stale_writes_stay_out() {
    let (mut a, mut b) = started_on_a_owned_by_b();
    a.write("c", None);
    let stale = record_start_on(&mut b); // of the ended incarnation
    a.start("c", ChildRecord::new(spec("c"), name("a")));
    let again = a.entries["c"].clone();
    assert!(
        again.incarnation > stale.incarnation,
        "a start after the terminate is a new incarnation"
    );
    assert!(
        !a.merge(stale.clone()),
        "a write of the ended incarnation loses to the new one"
    );
    assert_eq!(a.get("c").map(|r| r.owner.clone()), Some(name("a")));
    let mut c = ChildTable::new(process("c"));
    for e in [again, stale] {
        c.merge(e);
    }
    c.merge(b.entries["c"].clone());
    assert!(
        b.merge(a.entries["c"].clone()),
        "the new start wins on the old owner too"
    );
    assert_eq!(b.get("c").map(|r| r.owner.clone()), Some(name("a")));
    assert_eq!(
        (&a.entries["c"], &b.entries["c"]),
        (&c.entries["c"], &c.entries["c"])
    );
}

#[test]
fn local_writes_go_out_as_one_delta_per_flush() {
    let mut a = ChildTable::new(process("a"));
    for i in 0..3 {
        let id = format!("c{i}");
        a.write(&id, Some(ChildRecord::new(spec(&id), name("a"))));
    }
    a.flush();
    a.flush();
    let out: Vec<_> = std::iter::from_fn(|| a.poll_output()).collect();
    assert!(
        matches!(&out[..], [ChildOutput::Broadcast(ChildFrame::Delta(d))] if d.len() == 3),
        "{out:?}"
    );
    assert_eq!(a.loads()[&name("a")], 3);
}

#[test]
fn intensity_allows_max_restarts_in_the_window_then_refuses() {
    let mut r = ChildRecord::new(spec("c"), name("a"));
    assert!(r.note_restart(1_000));
    assert!(r.note_restart(2_000));
    assert!(r.note_restart(3_000));
    assert!(
        !r.note_restart(4_000),
        "a fourth restart within 5 s is one too many"
    );
    let mut later = ChildRecord::new(spec("c"), name("a"));
    for t in [0, 6_000, 12_000, 18_000, 24_000] {
        assert!(later.note_restart(t), "restarts spread out never hit the limit");
    }
}

/// Tables of nodes a, b, c, ... linked to each other; frames to or from a cut node are lost.
struct Net {
    tables: Vec<ChildTable>,
    cut: BTreeSet<usize>,
    now_ms: u64,
}

impl Net {
    fn new(n: usize) -> Self {
        let names = ["a", "b", "c", "d"];
        let mut tables: Vec<ChildTable> = names[..n].iter().map(|m| ChildTable::new(process(m))).collect();
        for (i, table) in tables.iter_mut().enumerate() {
            for (_, peer) in names[..n].iter().enumerate().filter(|(j, _)| *j != i) {
                table.handle_peer_up(process(peer));
            }
        }
        let mut net = Self {
            tables,
            cut: BTreeSet::new(),
            now_ms: 1_000,
        };
        net.deliver();
        net
    }

    /// Delivers every queued frame (and the answers) between nodes that are not cut.
    fn deliver(&mut self) {
        loop {
            let mut sent = Vec::new();
            for (i, t) in self.tables.iter_mut().enumerate() {
                t.flush();
                while let Some(out) = t.poll_output() {
                    sent.push((i, out));
                }
            }
            if sent.is_empty() {
                return;
            }
            for (i, out) in sent {
                let from = self.tables[i].local.clone();
                let (to, frame) = match out {
                    ChildOutput::Send { to, frame } => (Some(to), frame),
                    ChildOutput::Broadcast(frame) => (None, frame),
                };
                for j in 0..self.tables.len() {
                    let addressed = to.as_ref().is_none_or(|to| *to == self.tables[j].local);
                    let lost = self.cut.contains(&i) || self.cut.contains(&j);
                    if j != i && addressed && !lost {
                        self.tables[j].handle_frame(&from, frame.clone());
                    }
                }
            }
        }
    }

    /// `rounds` ticks of every node, `every_ms` apart, with delivery after each.
    fn tick(&mut self, rounds: usize, every_ms: u64) {
        for _ in 0..rounds {
            self.now_ms += every_ms;
            for i in 0..self.tables.len() {
                if !self.cut.contains(&i) {
                    self.tables[i].handle_tick(self.now_ms);
                }
            }
            self.deliver();
        }
    }

    fn tombstones(&self) -> Vec<usize> {
        self.tables.iter().map(ChildTable::tombstones).collect()
    }
}

fn start(t: &mut ChildTable, id: &str) {
    t.write(id, Some(ChildRecord::new(spec(id), name("a"))));
}

#[test]
fn a_tombstone_is_collected_once_every_peer_confirmed_it() {
    let mut net = Net::new(3);
    start(&mut net.tables[0], "c");
    net.deliver();
    net.tables[1].write("c", None);
    net.deliver();
    assert_eq!(
        net.tombstones(),
        vec![1, 1, 1],
        "every replica holds the tombstone first"
    );
    net.tick(3, 2_000);
    assert_eq!(net.tombstones(), vec![0, 0, 0], "collected everywhere");
    assert!(net.tables.iter().all(|t| t.get("c").is_none() && t.is_empty()));
    let digest = net.tables[0].digest();
    assert!(net.tables.iter().all(|t| t.digest() == digest));
}

#[test]
fn tombstones_are_collected_while_children_keep_starting_and_stopping() {
    // Writes never stop, so the tables are never equal when a summary arrives; the prefix
    // below each sender's previous tick still is.
    let mut net = Net::new(3);
    for cycle in 0..600 {
        let id = format!("c{}", cycle % 7);
        let node = cycle % 3;
        start(&mut net.tables[node], &id);
        net.deliver();
        net.tables[(node + 1) % 3].write(&id, None);
        net.deliver();
        if cycle % 20 == 19 {
            net.tick(1, 2_000);
        }
        let most = net.tombstones().into_iter().max().unwrap();
        assert!(most <= 7, "cycle {cycle}: {most} tombstones held");
    }
    net.tick(3, 2_000);
    assert_eq!(net.tombstones(), vec![0, 0, 0]);
}

#[test]
fn a_silent_peer_keeps_tombstones_until_it_has_them_then_cannot_bring_the_child_back() {
    let mut net = Net::new(3);
    start(&mut net.tables[0], "c");
    net.deliver();
    net.cut.insert(2); // paused: it holds the live record
    net.tables[0].write("c", None);
    net.deliver();
    net.tick(10, 2_000);
    assert_eq!(
        net.tombstones(),
        vec![1, 1, 0],
        "a peer silent for less than the horizon still counts"
    );
    assert!(
        net.tables[2].get("c").is_some(),
        "the silent node missed the terminate"
    );
    net.cut.clear(); // it comes back, with its stale record
    net.tick(3, 2_000);
    assert!(
        net.tables.iter().all(|t| t.get("c").is_none()),
        "the stale record must not bring the child back"
    );
    assert_eq!(net.tombstones(), vec![0, 0, 0]);
}

#[test]
fn a_peer_silent_past_the_horizon_no_longer_blocks_collection() {
    let mut net = Net::new(3);
    start(&mut net.tables[0], "c");
    net.deliver();
    net.cut.insert(2);
    net.tables[0].write("c", None);
    net.deliver();
    net.tick((PEER_HORIZON_MS / 2_000) as usize + 3, 2_000);
    assert_eq!(net.tombstones()[..2], [0, 0]);
}

#[test]
fn a_newer_process_under_a_peers_name_replaces_it_at_once() {
    let mut net = Net::new(2);
    start(&mut net.tables[0], "c");
    net.deliver();
    net.tables[0].write("c", None);
    net.deliver();
    net.cut.insert(1);
    net.tick(2, 2_000);
    assert_eq!(net.tombstones()[0], 1, "b's process may still hold c");
    // b restarts: a fresh process under the same name, with an empty table.
    net.cut.clear();
    net.tables[1] = ChildTable::new(NodeId::new(name("b"), Creation(2)));
    net.tables[0].handle_peer_up(NodeId::new(name("b"), Creation(2)));
    net.tables[1].handle_peer_up(process("a"));
    net.tick(3, 2_000);
    assert_eq!(net.tombstones(), vec![0, 0]);
    assert!(net.tables.iter().all(|t| t.get("c").is_none()));
}

#[test]
fn a_collected_tombstone_arriving_again_is_not_kept() {
    let mut net = Net::new(2);
    start(&mut net.tables[0], "c");
    net.deliver();
    net.tables[0].write("c", None);
    let tombstone = net.tables[0].entries["c"].clone();
    net.deliver();
    net.tick(3, 2_000);
    assert_eq!(net.tombstones(), vec![0, 0]);
    assert!(
        !net.tables[1].merge(tombstone),
        "a late copy of a collected tombstone"
    );
    assert_eq!(net.tables[1].tombstones(), 0);
}

#[test]
fn a_node_alone_collects_nothing() {
    let mut a = ChildTable::new(process("a"));
    start(&mut a, "c");
    a.write("c", None);
    for t in 1..5 {
        a.handle_tick(t * 2_000);
    }
    assert_eq!(a.tombstones(), 1, "it does not know who else may hold the record");
}

#[test]
fn a_tick_summarises_the_entries_below_the_clock_at_the_previous_tick() {
    let mut a = ChildTable::new(process("a"));
    start(&mut a, "c"); // counter 1
    a.flush();
    while a.poll_output().is_some() {}
    a.handle_tick(2_000);
    let first = ChildFrame::Summary {
        hash: a.digest(),
        below: 0,
        prefix: 0,
        floor: 0,
    };
    assert_eq!(a.poll_output(), Some(ChildOutput::Broadcast(first)));
    start(&mut a, "d"); // counter 2: after the cut, left out of the prefix
    a.flush();
    while a.poll_output().is_some() {}
    a.handle_tick(4_000);
    let second = ChildFrame::Summary {
        hash: a.digest(),
        below: 2,
        prefix: a.entries["c"].hash(),
        floor: 0,
    };
    assert_eq!(a.poll_output(), Some(ChildOutput::Broadcast(second)));
}

/// Delivers what `from` queued to `to` (and drops what it queued for anyone else).
fn deliver_to(from: &mut ChildTable, to: &mut ChildTable) {
    from.flush();
    let sender = from.local.clone();
    while let Some(out) = from.poll_output() {
        let frame = match out {
            ChildOutput::Send { to: addressed, frame } if addressed == to.local => frame,
            ChildOutput::Send { .. } => continue,
            ChildOutput::Broadcast(frame) => frame,
        };
        to.handle_frame(&sender, frame);
    }
}

#[test]
fn a_summary_that_arrives_before_the_link_up_still_syncs() {
    // b learns of the link first and sends its summary at once; a reads it before its own
    // driver reports the link (the acceptor's first frame behind the handshake). The peer
    // sends that summary once, so a link-up must not forget it: a node that joined a
    // moment ago starts none of its children until it synced with every live peer.
    let (mut a, mut b) = (ChildTable::new(process("a")), ChildTable::new(process("b")));
    b.handle_peer_up(process("a"));
    deliver_to(&mut b, &mut a);
    a.handle_peer_up(process("b"));
    deliver_to(&mut a, &mut b);
    deliver_to(&mut b, &mut a);
    assert!(b.has_synced_with(&name("a")));
    assert!(
        a.has_synced_with(&name("b")),
        "a forgot b's summary at its link-up"
    );
}

#[test]
fn a_link_down_forgets_the_comparison_until_the_next_link_up() {
    let (mut a, mut b) = (ChildTable::new(process("a")), ChildTable::new(process("b")));
    a.handle_peer_up(process("b"));
    b.handle_peer_up(process("a"));
    deliver_to(&mut a, &mut b);
    deliver_to(&mut b, &mut a);
    assert!(a.has_synced_with(&name("b")) && b.has_synced_with(&name("a")));
    a.handle_peer_down(&process("b"));
    assert!(
        !a.has_synced_with(&name("b")),
        "compared before the link went down"
    );
    // Meanwhile b's table changed; the link-up exchange merges it.
    start(&mut b, "c");
    b.unsent.clear(); // the delta was lost with the link
    a.handle_peer_up(process("b"));
    b.handle_peer_up(process("a"));
    deliver_to(&mut a, &mut b);
    deliver_to(&mut b, &mut a);
    deliver_to(&mut a, &mut b);
    assert!(a.has_synced_with(&name("b")));
    assert!(a.get("c").is_some(), "the link-up merged b's table");
    // A down of an older process under b's name does not forget what the current one said.
    a.handle_peer_down(&NodeId::new(name("b"), Creation(0)));
    assert!(a.has_synced_with(&name("b")));
}
