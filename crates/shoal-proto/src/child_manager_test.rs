use std::collections::BTreeSet;

use super::*;
use crate::actor_wire::{ExitReason, Pid};
use crate::children::ChildFrame;
use crate::children::{ChildRecord, ChildSpec, Restart, StartKind};
use crate::member::Member;
use crate::member::test_member;
use crate::node_id::{Creation, NodeId};
use crate::placement::Placement;
use crate::split_brain::Verdict;

pub(super) fn name(n: &str) -> NodeName {
    NodeName::new(n).unwrap()
}

/// The first life of node `n`, as a table's writer.
pub(super) fn process(n: &str) -> NodeId {
    NodeId::new(name(n), Creation(1))
}

pub(super) fn members(names: &[&str]) -> Vec<Member> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| test_member(n, i as u64 + 1, 7000))
        .collect()
}

pub(super) fn verdict(names: &[&str], isolated: bool, keeps: bool) -> Verdict {
    Verdict {
        view: names.iter().map(|n| name(n)).collect::<BTreeSet<_>>(),
        isolated,
        keeps,
    }
}

pub(super) fn pid(node: &str, id: u64) -> Pid {
    Pid::new(NodeId::new(name(node), crate::node_id::Creation(1)), id)
}

/// The node around the decisions: names held and states arrived.
#[derive(Default)]
pub(super) struct FakeHost {
    pub(super) holders: BTreeMap<String, Pid>,
    pub(super) handoffs: BTreeSet<String>,
}

impl Host for FakeHost {
    fn name_holder(&self, id: &str) -> Option<Pid> {
        self.holders.get(id).cloned()
    }
    fn has_handoff(&self, id: &str) -> bool {
        self.handoffs.contains(id)
    }
    fn custom_placement(&self, _: &str) -> Option<&dyn Placement> {
        None
    }
}

/// Runs one reconcile of `manager` with `live` members, long after it first saw a peer.
pub(super) fn look(
    manager: &mut ChildManager,
    table: &mut ChildTable,
    live: &[&str],
    verdict: &Verdict,
    host: &FakeHost,
) -> Vec<Action> {
    manager.joined_at_ms.get_or_insert(0);
    look_at(1_000_000, manager, table, live, verdict, host)
}

/// Runs one reconcile of `manager` at `now_ms` with `live` members.
fn look_at(
    now_ms: u64,
    manager: &mut ChildManager,
    table: &mut ChildTable,
    live: &[&str],
    verdict: &Verdict,
    host: &FakeHost,
) -> Vec<Action> {
    let ms = members(live);
    let refs: Vec<&Member> = ms.iter().collect();
    let view = View {
        now_ms,
        live: &refs,
        verdict,
    };
    manager.reconcile(table, &view, host)
}

fn settled(manager: &mut ChildManager, live: &[&str]) {
    let names: BTreeSet<NodeName> = live.iter().map(|n| name(n)).collect();
    manager.growth.settled(0, &names);
}

fn started_ids(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Start { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect()
}

pub(super) fn record(id: &str, owner: &str) -> ChildRecord {
    ChildRecord::new(ChildSpec::new(id, "f", &()).unwrap(), name(owner))
}

#[test]
fn the_owner_starts_its_children_and_records_the_start() {
    let mut table = ChildTable::new(process("a"));
    table.write("c1", Some(record("c1", "a")));
    table.write("c2", Some(record("c2", "b")));
    let mut a = ChildManager::new(name("a"), false);
    let host = FakeHost::default();
    let actions = look(
        &mut a,
        &mut table,
        &["a", "b"],
        &verdict(&["a", "b"], false, true),
        &host,
    );
    assert_eq!(started_ids(&actions), ["c1"]);
    let instance = Instance {
        pid: pid("a", 7),
        factory: "f".into(),
    };
    a.started(&mut table, "c1", instance, None);
    assert_eq!(table.get("c1").unwrap().starts, 1);
    assert!(
        look(
            &mut a,
            &mut table,
            &["a", "b"],
            &verdict(&["a", "b"], false, true),
            &host
        )
        .is_empty()
    );
}

#[test]
fn a_start_without_state_never_reports_the_previous_instances_kept_state() {
    // A child handed off to `a` earlier; `a` then restarted (a new process under the same
    // name), so the record still says `a` owns it, "handed off, state kept".
    let mut table = ChildTable::new(process("a"));
    let mut r = record("c1", "a");
    r.starts = 2;
    r.last_start = StartKind::HandedOff { from: name("b") };
    table.write("c1", Some(r));
    let mut a = ChildManager::new(name("a"), false);
    let instance = Instance {
        pid: pid("a", 9),
        factory: "f".into(),
    };
    a.started(&mut table, "c1", instance, None);
    let r = table.get("c1").unwrap();
    assert_eq!(r.last_start, StartKind::FailedOver { from: name("a") });
    assert!(
        !r.last_start.kept_state(),
        "an instance started from its spec kept nothing"
    );
    assert_eq!(r.starts, 3);
}

#[test]
fn a_new_life_starts_nothing_until_it_merged_every_live_peers_table() {
    // Its first table may come from a peer just back from isolation, with records the
    // majority has rewritten since (simulator seed 282).
    let mut table = ChildTable::new(process("a"));
    table.write("c1", Some(record("c1", "a")));
    let mut a = ChildManager::new(name("a"), false);
    let (host, v) = (FakeHost::default(), verdict(&["a", "b", "c"], false, true));
    let live = ["a", "b", "c"];
    assert!(look_at(10_000, &mut a, &mut table, &live, &v, &host).is_empty());
    let digest = table.digest();
    table.handle_frame(&process("b"), ChildFrame::Digest { hash: digest });
    assert!(
        look_at(10_001, &mut a, &mut table, &live, &v, &host).is_empty(),
        "c's table has not come yet"
    );
    table.handle_frame(&process("c"), ChildFrame::Snapshot(Vec::new()));
    assert_eq!(
        started_ids(&look_at(10_002, &mut a, &mut table, &live, &v, &host)),
        ["c1"]
    );

    // A peer that never answers holds it back for a settle period at most.
    let mut b = ChildManager::new(name("a"), false);
    let mut alone = ChildTable::new(process("a"));
    alone.write("c1", Some(record("c1", "a")));
    assert!(look_at(10_000, &mut b, &mut alone, &live, &v, &host).is_empty());
    let later = 10_000 + SETTLE_AFTER_GROWTH_MS;
    assert_eq!(
        started_ids(&look_at(later, &mut b, &mut alone, &live, &v, &host)),
        ["c1"]
    );
}

#[test]
fn a_child_whose_name_another_node_holds_waits() {
    let mut table = ChildTable::new(process("a"));
    table.write("c1", Some(record("c1", "a")));
    let mut a = ChildManager::new(name("a"), false);
    let mut host = FakeHost::default();
    host.holders.insert("c1".into(), pid("b", 9));
    let v = verdict(&["a", "b"], false, true);
    assert!(look(&mut a, &mut table, &["a", "b"], &v, &host).is_empty());
    host.holders.clear();
    assert_eq!(
        started_ids(&look(&mut a, &mut table, &["a", "b"], &v, &host)),
        ["c1"]
    );
}

#[test]
fn only_the_placed_survivor_takes_over_and_only_when_its_side_keeps_running() {
    let lost_child = |table: &mut ChildTable| {
        let mut r = record("c1", "c");
        r.starts = 1;
        table.write("c1", Some(r));
    };
    let live = ["a", "b"];
    let owner = {
        let ms = members(&live);
        let refs: Vec<&Member> = ms.iter().collect();
        let table = ChildTable::new(process("x"));
        place(
            &table,
            &ChildSpec::new("c1", "f", &()).unwrap(),
            &refs,
            None,
            &FakeHost::default(),
        )
        .unwrap()
    };
    for node in live {
        let mut table = ChildTable::new(process(node));
        lost_child(&mut table);
        let mut m = ChildManager::new(name(node), false);
        let host = FakeHost::default();
        let all = ["a", "b", "c"];
        assert!(look(&mut m, &mut table, &all, &verdict(&all, false, true), &host).is_empty());
        settled(&mut m, &live);
        // A side that would not keep running takes nothing over.
        assert!(look(&mut m, &mut table, &live, &verdict(&live, false, false), &host).is_empty());
        // Nor does one whose verdict is for another view.
        assert!(
            look(
                &mut m,
                &mut table,
                &live,
                &verdict(&["a", "b", "c"], false, true),
                &host
            )
            .is_empty()
        );
        let actions = look(&mut m, &mut table, &live, &verdict(&live, false, true), &host);
        if name(node) == owner {
            assert_eq!(started_ids(&actions), ["c1"]);
            let r = table.get("c1").unwrap();
            assert_eq!(r.owner, owner);
            assert_eq!(r.last_start, StartKind::FailedOver { from: name("c") });
        } else {
            assert!(actions.is_empty(), "{node} is not the placed owner");
            assert_eq!(table.get("c1").unwrap().owner, name("c"));
        }
    }
}

#[test]
fn a_node_takes_over_only_from_members_it_saw() {
    // It joined a side of a partition after the split: the other side's members were never
    // in its view, and their children run there.
    let mut table = ChildTable::new(process("a"));
    table.write("c1", Some(record("c1", "elsewhere")));
    let mut a = ChildManager::new(name("a"), false);
    settled(&mut a, &["a"]);
    let v = verdict(&["a"], false, true);
    assert!(look(&mut a, &mut table, &["a"], &v, &FakeHost::default()).is_empty());
    assert_eq!(table.get("c1").unwrap().owner, name("elsewhere"));
}

#[test]
fn nothing_is_taken_over_right_after_a_join() {
    let mut table = ChildTable::new(process("a"));
    table.write("c1", Some(record("c1", "gone")));
    let mut a = ChildManager::new(name("a"), false);
    let v = verdict(&["a"], false, true);
    let before = verdict(&["a", "gone"], false, true);
    assert!(look(&mut a, &mut table, &["a", "gone"], &before, &FakeHost::default()).is_empty());
    assert!(
        look(&mut a, &mut table, &["a"], &v, &FakeHost::default()).is_empty(),
        "a just saw a view grow"
    );
    settled(&mut a, &["a"]);
    assert_eq!(
        started_ids(&look(&mut a, &mut table, &["a"], &v, &FakeHost::default())),
        ["c1"]
    );
}

#[test]
fn an_isolated_node_stops_its_children() {
    let mut table = ChildTable::new(process("a"));
    table.write("c1", Some(record("c1", "a")));
    let mut a = ChildManager::new(name("a"), false);
    let host = FakeHost::default();
    look(&mut a, &mut table, &["a"], &verdict(&["a"], false, true), &host);
    a.started(
        &mut table,
        "c1",
        Instance {
            pid: pid("a", 1),
            factory: "f".into(),
        },
        None,
    );
    let actions = look(&mut a, &mut table, &["a"], &verdict(&["a"], true, false), &host);
    assert_eq!(
        actions,
        [Action::Stop {
            id: "c1".into(),
            pid: pid("a", 1)
        }]
    );
    assert!(a.running().is_empty());
}

#[test]
fn a_moved_child_hands_off_and_its_new_owner_waits_for_the_state() {
    let live = ["a", "b"];
    let v = verdict(&live, false, true);
    let host = FakeHost::default();
    let mut table_a = ChildTable::new(process("a"));
    table_a.write("c1", Some(record("c1", "a")));
    let mut a = ChildManager::new(name("a"), false);
    look(&mut a, &mut table_a, &live, &v, &host);
    a.started(
        &mut table_a,
        "c1",
        Instance {
            pid: pid("a", 1),
            factory: "f".into(),
        },
        None,
    );
    // migrate to b
    let mut r = table_a.get("c1").unwrap().clone();
    r.handoff_from = Some(std::mem::replace(&mut r.owner, name("b")));
    table_a.write("c1", Some(r.clone()));
    let actions = look(&mut a, &mut table_a, &live, &v, &host);
    assert!(matches!(&actions[..], [Action::HandOff { to, .. }] if *to == name("b")));

    let mut table_b = ChildTable::new(process("b"));
    table_b.write("c1", Some(r));
    let mut b = ChildManager::new(name("b"), false);
    assert!(
        b.keeps_handoff(&table_b, "c1", 0, 10 * HANDOFF_TIMEOUT_MS),
        "awaited"
    );
    assert!(
        !b.keeps_handoff(&table_b, "other", 0, HANDOFF_TIMEOUT_MS),
        "not awaited, too old"
    );
    assert!(
        b.keeps_handoff(&table_b, "other", 0, 1),
        "may have overtaken its table write"
    );
    assert!(
        look(&mut b, &mut table_b, &live, &v, &host).is_empty(),
        "the state has not come"
    );
    let mut arrived = FakeHost::default();
    arrived.handoffs.insert("c1".into());
    // The state came, but the registry delta dropping an old instance's name has not.
    arrived.holders.insert("c1".into(), pid("c", 4));
    assert!(
        look(&mut b, &mut table_b, &live, &v, &arrived).is_empty(),
        "the name is still held elsewhere"
    );
    arrived.holders.clear();
    let actions = look(&mut b, &mut table_b, &live, &v, &arrived);
    assert!(matches!(&actions[..], [Action::Start { handoff_from: Some(from), .. }] if *from == name("a")));
    b.started(
        &mut table_b,
        "c1",
        Instance {
            pid: pid("b", 1),
            factory: "f".into(),
        },
        Some(name("a")),
    );
    assert_eq!(
        table_b.get("c1").unwrap().last_start,
        StartKind::HandedOff { from: name("a") }
    );
    // Had a gone down instead, b would start without it, once its view settled and the
    // resolver kept it (as for a take-over: a member declared down may still run it).
    let mut table_c = ChildTable::new(process("b"));
    let mut r = record("c1", "b");
    r.handoff_from = Some(name("a"));
    table_c.write("c1", Some(r));
    let mut b2 = ChildManager::new(name("b"), false);
    assert!(look(&mut b2, &mut table_c, &live, &v, &host).is_empty(), "a runs");
    assert!(
        look(
            &mut b2,
            &mut table_c,
            &["b"],
            &verdict(&["b"], false, false),
            &host
        )
        .is_empty(),
        "not while the resolver has not kept the view"
    );
    settled(&mut b2, &["b"]);
    assert_eq!(
        started_ids(&look(
            &mut b2,
            &mut table_c,
            &["b"],
            &verdict(&["b"], false, true),
            &host
        )),
        ["c1"]
    );
}

#[test]
fn exits_restart_within_the_intensity_then_give_up() {
    let mut table = ChildTable::new(process("a"));
    table.write("c1", Some(record("c1", "a").intensity_for_test(2)));
    let mut a = ChildManager::new(name("a"), false);
    let host = FakeHost::default();
    let v = verdict(&["a"], false, true);
    for round in 0..3u64 {
        assert_eq!(started_ids(&look(&mut a, &mut table, &["a"], &v, &host)), ["c1"]);
        a.started(
            &mut table,
            "c1",
            Instance {
                pid: pid("a", round),
                factory: "f".into(),
            },
            None,
        );
        // An exit of an instance that is not the current one is ignored.
        a.handle_exit(&mut table, "c1", &pid("a", 99), ExitReason::Error("x".into()), 10);
        a.handle_exit(
            &mut table,
            "c1",
            &pid("a", round),
            ExitReason::Error("x".into()),
            10 + round,
        );
    }
    assert_eq!(table.get("c1").unwrap().failed, Some(ExitReason::MaxRestarts));
    assert!(look(&mut a, &mut table, &["a"], &v, &host).is_empty());
}

#[test]
fn a_normal_exit_ends_a_transient_child_and_a_conflict_loser_is_not_restarted() {
    let mut table = ChildTable::new(process("a"));
    let mut transient = record("t", "a");
    transient.spec.restart = Restart::Transient;
    table.write("t", Some(transient));
    table.write("p", Some(record("p", "a")));
    let mut a = ChildManager::new(name("a"), false);
    let host = FakeHost::default();
    look(&mut a, &mut table, &["a"], &verdict(&["a"], false, true), &host);
    a.started(
        &mut table,
        "t",
        Instance {
            pid: pid("a", 1),
            factory: "f".into(),
        },
        None,
    );
    a.started(
        &mut table,
        "p",
        Instance {
            pid: pid("a", 2),
            factory: "f".into(),
        },
        None,
    );
    a.handle_exit(&mut table, "t", &pid("a", 1), ExitReason::Normal, 5);
    assert!(
        table.get("t").is_none(),
        "a transient child that ended normally is done"
    );
    a.handle_exit(
        &mut table,
        "p",
        &pid("a", 2),
        ExitReason::NameConflict { winner: pid("b", 1) },
        5,
    );
    assert_eq!(
        table.get("p").unwrap().last_start,
        StartKind::Fresh,
        "not marked for a restart"
    );
}

#[test]
fn drain_moves_every_child_to_another_node_and_starts_nothing_after() {
    let live = ["a", "b", "c"];
    let v = verdict(&live, false, true);
    let host = FakeHost::default();
    let mut table = ChildTable::new(process("a"));
    let mut a = ChildManager::new(name("a"), false);
    for i in 0..10 {
        let id = format!("c{i}");
        table.write(&id, Some(record(&id, "a")));
        a.started(
            &mut table,
            &id,
            Instance {
                pid: pid("a", i),
                factory: "f".into(),
            },
            None,
        );
    }
    let ms = members(&live);
    let refs: Vec<&Member> = ms.iter().collect();
    let view = View {
        now_ms: 1,
        live: &refs,
        verdict: &v,
    };
    let actions = a.drain(&mut table, &view, &host);
    assert_eq!(actions.len(), 10);
    assert!(a.running().is_empty());
    for r in table.children() {
        assert_ne!(r.owner, name("a"));
        assert_eq!(r.handoff_from, Some(name("a")));
    }
    table.write("new", Some(record("new", "a")));
    assert!(
        look(&mut a, &mut table, &live, &v, &host).is_empty(),
        "a draining node starts nothing"
    );
    let passed = table.get("new").unwrap();
    assert_ne!(
        passed.owner,
        name("a"),
        "a child placed on a draining node goes to another"
    );
    assert_eq!(passed.handoff_from, None, "with no state to wait for");
}

#[test]
fn an_old_owner_without_the_instance_releases_the_move_and_a_lost_state_times_out() {
    let live = ["a", "b"];
    let v = verdict(&live, false, true);
    let host = FakeHost::default();
    let mut moving = record("c1", "b");
    moving.handoff_from = Some(name("a"));
    // A new life of a: it runs no instance, so no state will come; b starts without it.
    let mut table_a = ChildTable::new(process("a"));
    table_a.write("c1", Some(moving.clone()));
    let mut a = ChildManager::new(name("a"), false);
    assert!(look(&mut a, &mut table_a, &live, &v, &host).is_empty());
    let released = table_a.get("c1").unwrap();
    assert_eq!(released.handoff_from, None);
    assert_eq!(released.last_start, StartKind::HandoffLost { from: name("a") });
    // b waits for the state while a lives, then starts once the wait is over and the name free.
    let mut table_b = ChildTable::new(process("b"));
    table_b.write("c1", Some(moving));
    let mut b = ChildManager::new(name("b"), false);
    let ms = members(&live);
    let refs: Vec<&Member> = ms.iter().collect();
    let at = |now_ms| View {
        now_ms,
        live: &refs,
        verdict: &v,
    };
    assert!(b.reconcile(&mut table_b, &at(1_000), &host).is_empty());
    assert!(
        b.reconcile(&mut table_b, &at(1_000 + HANDOFF_TIMEOUT_MS - 1), &host)
            .is_empty()
    );
    let mut held = FakeHost::default();
    held.holders.insert("c1".into(), pid("a", 9));
    assert!(
        b.reconcile(&mut table_b, &at(1_000 + HANDOFF_TIMEOUT_MS), &held)
            .is_empty(),
        "a still holds the name"
    );
    let actions = b.reconcile(&mut table_b, &at(1_000 + HANDOFF_TIMEOUT_MS), &host);
    assert_eq!(started_ids(&actions), ["c1"]);
}

#[test]
fn a_node_back_from_isolation_starts_nothing_until_it_settles() {
    let mut table = ChildTable::new(process("a"));
    table.write("c1", Some(record("c1", "a")));
    let mut a = ChildManager::new(name("a"), false);
    let ms = members(&["a"]);
    let refs: Vec<&Member> = ms.iter().collect();
    let (isolated, whole) = (verdict(&["a"], true, false), verdict(&["a"], false, true));
    let host = FakeHost::default();
    assert!(
        a.reconcile(
            &mut table,
            &View {
                now_ms: 100,
                live: &refs,
                verdict: &isolated
            },
            &host
        )
        .is_empty()
    );
    let back = View {
        now_ms: 200,
        live: &refs,
        verdict: &whole,
    };
    assert!(
        a.reconcile(&mut table, &back, &host).is_empty(),
        "its table may be stale"
    );
    let later = View {
        now_ms: 100 + SETTLE_AFTER_GROWTH_MS,
        live: &refs,
        verdict: &whole,
    };
    assert_eq!(started_ids(&a.reconcile(&mut table, &later, &host)), ["c1"]);
}

impl ChildRecord {
    fn intensity_for_test(mut self, max_restarts: u32) -> Self {
        self.spec.intensity.max_restarts = max_restarts;
        self
    }
}

/// The member lives of `live` as the test's [`members`] builds them.
fn lives(live: &[&str]) -> BTreeSet<NodeId> {
    members(live).into_iter().map(|m| m.id).collect()
}

/// Children `ids` owned by `owner`, written to `table`.
fn own(table: &mut ChildTable, owner: &str, ids: &[&str]) {
    for id in ids {
        table.write(id, Some(record(id, owner)));
    }
}

#[test]
fn a_loss_alone_rebalances_nothing_and_a_lost_owners_children_are_only_taken_over() {
    let mut table = ChildTable::new(process("a"));
    own(&mut table, "a", &["a1", "a2", "a3", "a4", "a5", "a6"]);
    own(&mut table, "c", &["c1", "c2", "c3", "c4", "c5", "c6"]);
    let mut a = ChildManager::new(name("a"), true);
    a.known.extend(["a", "b", "c"].map(name));
    a.lives = lives(&["a", "b", "c"]);
    settled(&mut a, &["a", "b", "c"]);
    let host = FakeHost::default();
    look(
        &mut a,
        &mut table,
        &["a", "b"],
        &verdict(&["a", "b"], false, true),
        &host,
    );
    let moving: Vec<&ChildRecord> = table.children().filter(|r| r.handoff_from.is_some()).collect();
    assert!(
        moving.is_empty(),
        "a loss moved children 'with their state': {moving:?}"
    );
    for r in table.children().filter(|r| r.spec.id.starts_with('c')) {
        let taken_over = r.owner == name("a") && r.last_start == StartKind::Fresh;
        assert!(taken_over || r.owner == name("c"), "{r:?}");
    }
}

#[test]
fn a_join_moves_only_settled_children_of_live_owners() {
    let mut table = ChildTable::new(process("a"));
    let ids: Vec<String> = (0..12).map(|i| format!("a{i}")).collect();
    own(
        &mut table,
        "a",
        &ids.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    own(&mut table, "d", &["d1", "d2", "d3", "d4"]); // a node this one never saw live
    let mut moving = record("m1", "c");
    moving.handoff_from = Some(name("b"));
    table.write("m1", Some(moving.clone()));
    let mut a = ChildManager::new(name("a"), true);
    a.lives = lives(&["a", "b"]);
    settled(&mut a, &["a", "b", "c"]);
    let host = FakeHost::default();
    look(
        &mut a,
        &mut table,
        &["a", "b", "c"],
        &verdict(&["a", "b", "c"], false, true),
        &host,
    );
    let moved: Vec<&ChildRecord> = table
        .children()
        .filter(|r| r.handoff_from == Some(name("a")))
        .collect();
    assert!(!moved.is_empty(), "the join moved nothing");
    assert!(moved.iter().all(|r| r.owner != name("a")));
    for id in ["d1", "d2", "d3", "d4"] {
        let r = table.get(id).unwrap();
        assert_eq!((&r.owner, &r.handoff_from), (&name("d"), &None), "{id}");
    }
    assert_eq!(table.get("m1"), Some(&moving));
}

#[test]
fn a_leader_back_from_isolation_rebalances_once_its_view_settles() {
    let mut table = ChildTable::new(process("a"));
    let ids: Vec<String> = (0..12).map(|i| format!("b{i}")).collect();
    own(
        &mut table,
        "b",
        &ids.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let mut a = ChildManager::new(name("a"), true);
    a.lives = lives(&["a", "b", "c"]);
    settled(&mut a, &["a", "b", "c"]);
    let host = FakeHost::default();
    // Cut off and isolated: the side of b and c took a's children over meanwhile.
    look(&mut a, &mut table, &["a"], &verdict(&["a"], true, false), &host);
    let back = look_at(
        2_000_000,
        &mut a,
        &mut table,
        &["a", "b", "c"],
        &verdict(&["a", "b", "c"], false, true),
        &host,
    );
    assert!(back.is_empty(), "{back:?}");
    assert!(
        table.children().all(|r| r.handoff_from.is_none()),
        "moved before settling"
    );
    look_at(
        3_500_000,
        &mut a,
        &mut table,
        &["a", "b", "c"],
        &verdict(&["a", "b", "c"], false, true),
        &host,
    );
    let moved: Vec<&NodeName> = table
        .children()
        .filter(|r| r.handoff_from.is_some())
        .map(|r| &r.owner)
        .collect();
    assert!(
        moved.contains(&&name("a")),
        "nothing moved back to the leader: {moved:?}"
    );
}

/// A node took c1 over from lost node b (its instance started from the spec) and handed it
/// to c before it ran long (it was leaving): c's instance carries that fresh state, so it
/// says the state was lost, naming how (found by the chaos harness: a graceful restart at
/// the moment another node was killed). A later move of c's instance keeps its state.
#[test]
fn a_state_handed_over_by_an_instance_that_had_lost_its_own_is_not_kept() {
    let mut table = ChildTable::new(process("c"));
    let mut r = record("c1", "c");
    r.starts = 2;
    r.last_start = StartKind::FailedOver { from: name("b") };
    r.handoff_from = Some(name("a"));
    table.write("c1", Some(r));
    let mut c = ChildManager::new(name("c"), false);
    let instance = |n| Instance {
        pid: pid("c", n),
        factory: "f".into(),
    };
    c.started(&mut table, "c1", instance(1), Some(name("a")));
    let after = table.get("c1").unwrap().last_start.clone();
    assert_eq!(
        after,
        StartKind::HandedOffAfterLoss {
            from: name("a"),
            lost: Box::new(StartKind::FailedOver { from: name("b") }),
        }
    );
    assert!(!after.kept_state());
    // c's instance moves on to d: an ordinary handoff, the state is kept from here on.
    let mut r = table.get("c1").unwrap().clone();
    r.owner = name("d");
    r.handoff_from = Some(name("c"));
    table.write("c1", Some(r));
    let mut d_table = ChildTable::new(process("d"));
    d_table.write("c1", table.get("c1").cloned());
    let mut d = ChildManager::new(name("d"), false);
    d.started(
        &mut d_table,
        "c1",
        Instance {
            pid: pid("d", 1),
            factory: "f".into(),
        },
        Some(name("c")),
    );
    assert_eq!(
        d_table.get("c1").unwrap().last_start,
        StartKind::HandedOff { from: name("c") }
    );
}
