use super::*;
use crate::child_manager::tests::{FakeHost, look, members, name, pid, process, record, verdict};
use crate::child_manager::{Action, ChildManager, Instance};
use crate::children::{ChildFrame, ChildOutput, StartKind};

/// Merges the whole of `from` (written by `from_node`) into `to`.
fn sync(from: &mut ChildTable, from_node: &str, to: &mut ChildTable) {
    from.handle_frame(&process("zz"), ChildFrame::SyncRequest);
    while let Some(out) = from.poll_output() {
        if let ChildOutput::Send { frame, .. } = out {
            to.handle_frame(&process(from_node), frame);
        }
    }
}

fn instance(node: &str) -> Instance {
    Instance {
        pid: pid(node, 1),
        factory: "f".into(),
    }
}

#[test]
fn migrate_refuses_what_cannot_move_and_a_child_moving_already() {
    let ms = members(&["a", "b"]);
    let live: Vec<&Member> = ms.iter().collect();
    let mut table = ChildTable::new(process("a"));
    table.write("c", Some(record("c", "a")));
    assert_eq!(
        migrate(&mut table, "x", &name("b"), &live),
        Err(MoveError::NotFound("x".into()))
    );
    assert_eq!(
        migrate(&mut table, "c", &name("z"), &live),
        Err(MoveError::NotLive(name("z")))
    );
    assert_eq!(
        migrate(&mut table, "c", &name("a"), &live),
        Ok(None),
        "there already"
    );
    let moved = migrate(&mut table, "c", &name("b"), &live).unwrap().unwrap();
    assert_eq!((moved.from.as_str(), moved.to.as_str()), ("a", "b"));
    let again = migrate(&mut table, "c", &name("a"), &live).unwrap_err();
    assert_eq!(
        again,
        MoveError::Moving {
            id: "c".into(),
            from: name("a"),
            to: name("b")
        }
    );
    assert!(
        again
            .to_string()
            .contains("moving from a to b; retry when it settles"),
        "{again}"
    );
    assert_eq!(moved.outcome(&table), MoveOutcome::Moving);
}

const LIVE: [&str; 3] = ["l", "w", "x"];

/// Two moves of child `c`, run by x, written concurrently on l and w, w's to win the merge.
struct ConcurrentMoves {
    x: ChildManager,
    tx: ChildTable,
    tl: ChildTable,
    tw: ChildTable,
    to_l: Move,
    to_w: Move,
}

impl ConcurrentMoves {
    fn new() -> Self {
        let ms = members(&LIVE);
        let refs: Vec<&Member> = ms.iter().collect();
        let mut tx = ChildTable::new(process("x"));
        tx.write("c", Some(record("c", "x")));
        let mut x = ChildManager::new(name("x"), false);
        look(
            &mut x,
            &mut tx,
            &LIVE,
            &verdict(&LIVE, false, true),
            &FakeHost::default(),
        );
        x.started(&mut tx, "c", instance("x"), None);
        let (mut tl, mut tw) = (ChildTable::new(process("l")), ChildTable::new(process("w")));
        sync(&mut tx, "x", &mut tl);
        sync(&mut tx, "x", &mut tw);
        tw.write("bump", None); // w's clock runs ahead: its move wins the merge
        let to_l = migrate(&mut tl, "c", &name("l"), &refs).unwrap().unwrap();
        let to_w = migrate(&mut tw, "c", &name("w"), &refs).unwrap().unwrap();
        Self {
            x,
            tx,
            tl,
            tw,
            to_l,
            to_w,
        }
    }
}

/// l's manager, once x's state for child `c` arrived and a look decided to start from it.
fn decides_to_start_from_x(tl: &mut ChildTable) -> ChildManager {
    let mut l = ChildManager::new(name("l"), false);
    let mut arrived = FakeHost::default();
    arrived.handoffs.insert("c".into());
    let actions = look(&mut l, tl, &LIVE, &verdict(&LIVE, false, true), &arrived);
    assert!(matches!(&actions[..], [Action::Start { handoff_from: Some(from), .. }] if *from == name("x")));
    l
}

/// Two moves of one child written concurrently on l and w: w's wins the merge, but x (the
/// owner) saw l's first and handed the state to l. Whatever order the writes arrive in,
/// every replica ends with the move that happened, and only its caller may report success.
#[test]
fn of_concurrent_moves_the_one_the_state_went_with_happens_and_the_other_is_superseded() {
    let live = LIVE;
    let v = verdict(&live, false, true);
    let host = FakeHost::default();
    let ConcurrentMoves {
        mut x,
        mut tx,
        mut tl,
        mut tw,
        to_l,
        to_w,
    } = ConcurrentMoves::new();

    // x sees l's move first and hands the state to l.
    sync(&mut tl, "l", &mut tx);
    let actions = look(&mut x, &mut tx, &live, &v, &host);
    assert!(
        matches!(&actions[..], [Action::HandOff { to, .. }] if *to == name("l")),
        "{actions:?}"
    );
    // l gets the state and starts from it.
    let mut l = decides_to_start_from_x(&mut tl);
    l.started(&mut tl, "c", instance("l"), Some(name("x")));
    assert_eq!(to_l.outcome(&tl), MoveOutcome::Done { state_kept: true });

    // w's move wins the merge at l: l keeps its instance and puts its record back.
    sync(&mut tw, "w", &mut tl);
    assert_eq!(tl.get("c").unwrap().owner, name("w"), "w's write won the merge");
    let actions = look(&mut l, &mut tl, &live, &v, &host);
    assert!(
        actions.is_empty(),
        "l must not stop the instance it runs: {actions:?}"
    );
    // ... and at x before l's start reaches it: x puts back the move to l.
    sync(&mut tw, "w", &mut tx);
    let actions = look(&mut x, &mut tx, &live, &v, &host);
    assert!(actions.is_empty(), "{actions:?}");
    let r = tx.get("c").unwrap();
    assert_eq!(
        (&r.owner, &r.handoff_from),
        (&name("l"), &Some(name("x"))),
        "x put the move to l back"
    );

    // Every replica merges every other: one settled record, on l, with its state.
    for _ in 0..2 {
        sync(&mut tx, "x", &mut tl);
        sync(&mut tl, "l", &mut tw);
        sync(&mut tw, "w", &mut tx);
        look(&mut l, &mut tl, &live, &v, &host);
        look(&mut x, &mut tx, &live, &v, &host);
    }
    sync(&mut tl, "l", &mut tx);
    sync(&mut tl, "l", &mut tw);
    for table in [&tx, &tl, &tw] {
        let r = table.get("c").unwrap();
        assert_eq!((&r.owner, &r.handoff_from), (&name("l"), &None));
        assert_eq!(r.last_start, StartKind::HandedOff { from: name("x") });
        assert_eq!(to_l.outcome(table), MoveOutcome::Done { state_kept: true });
        assert_eq!(to_w.outcome(table), MoveOutcome::Superseded { owner: name("l") });
    }
    let mut w = ChildManager::new(name("w"), false);
    assert!(
        look(&mut w, &mut tw, &live, &v, &host).is_empty(),
        "w starts nothing"
    );
}

/// As above, but w's move reaches l between the look that decided l's start and the start
/// itself (shoal-node starts after it awaited its handoffs, and frames merge meanwhile).
/// The start is recorded as l's, from x's state: before, l wrote the start into w's record
/// ("owner w, handed off from x, settled"), then stopped its instance as not its own, and w
/// started from the spec: the state was lost though x had handed it over.
#[test]
fn a_concurrent_move_that_arrives_while_the_state_starts_is_put_back() {
    let live = LIVE;
    let v = verdict(&live, false, true);
    let host = FakeHost::default();
    let ConcurrentMoves {
        x: _,
        mut tx,
        mut tl,
        mut tw,
        to_l,
        to_w,
    } = ConcurrentMoves::new();

    let mut l = decides_to_start_from_x(&mut tl);
    // w's move merges before l reports the start.
    sync(&mut tw, "w", &mut tl);
    l.started(&mut tl, "c", instance("l"), Some(name("x")));
    let r = tl.get("c").unwrap();
    assert_eq!((&r.owner, &r.handoff_from), (&name("l"), &None), "{r:?}");
    assert_eq!(r.last_start, StartKind::HandedOff { from: name("x") });
    assert!(
        look(&mut l, &mut tl, &live, &v, &host).is_empty(),
        "l keeps the instance that holds the state"
    );
    sync(&mut tl, "l", &mut tw);
    sync(&mut tl, "l", &mut tx);
    for table in [&tx, &tl, &tw] {
        assert_eq!(to_l.outcome(table), MoveOutcome::Done { state_kept: true });
        assert_eq!(to_w.outcome(table), MoveOutcome::Superseded { owner: name("l") });
    }

    // A start from the spec is not recorded over a record another node owns by now.
    let mut ty = ChildTable::new(process("y"));
    let mut r = record("c", "y");
    r.owner = name("w");
    ty.write("c", Some(r.clone()));
    let mut y = ChildManager::new(name("y"), false);
    y.started(&mut ty, "c", instance("y"), None);
    assert_eq!(ty.get("c"), Some(&r), "y wrote over w's record");
}
