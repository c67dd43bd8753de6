use super::*;
use crate::child_manager::tests::{FakeHost, members, name, pid, process, verdict};
use crate::children::ChildFrame;
use crate::member::Member;
use crate::split_brain::Verdict;

fn spec(id: &str) -> ChildSpec {
    ChildSpec::new(id, "f", &()).unwrap()
}

/// Runs the start rule on `table` (of node a, having merged b's table) with live members
/// a, b and c and the verdict given.
fn start_with(
    table: &mut ChildTable,
    spec: ChildSpec,
    verdict: &Verdict,
    host: &FakeHost,
) -> Result<NodeName, StartRefused> {
    table.handle_frame(&process("b"), ChildFrame::Snapshot(Vec::new()));
    let ms = members(&["a", "b", "c"]);
    let live: Vec<&Member> = ms.iter().collect();
    let view = View {
        now_ms: 1_000,
        live: &live,
        verdict,
    };
    start(table, spec, &view, host, false)
}

/// Runs the start rule on a fresh table of node a with the live members given.
fn start_fresh(live: &[&str], joining: bool) -> (ChildTable, Result<NodeName, StartRefused>) {
    let mut table = ChildTable::new(process("a"));
    let ms = members(live);
    let live: Vec<&Member> = ms.iter().collect();
    let verdict = verdict(&["a"], false, true);
    let view = View {
        now_ms: 1_000,
        live: &live,
        verdict: &verdict,
    };
    let started = start(&mut table, spec("c1"), &view, &FakeHost::default(), joining);
    (table, started)
}

#[test]
fn a_joining_node_writes_nothing_even_alone() {
    let (table, started) = start_fresh(&["a"], true);
    assert_eq!(started, Err(StartRefused::NotCurrent(NotCurrent::Joining)));
    assert!(table.get("c1").is_none());
}

#[test]
fn a_replica_that_merged_no_live_peer_table_writes_nothing() {
    let (table, started) = start_fresh(&["a", "b"], false);
    assert_eq!(started, Err(StartRefused::NotCurrent(NotCurrent::Unsynced)));
    assert!(table.get("c1").is_none());
}

#[test]
fn a_node_alone_that_has_joined_may_start() {
    let (table, started) = start_fresh(&["a"], false);
    assert_eq!(started, Ok(name("a")));
    assert!(table.get("c1").is_some());
}

fn keeps() -> Verdict {
    verdict(&["a", "b", "c"], false, true)
}

#[test]
fn a_start_writes_the_child_owned_by_the_node_placement_picks() {
    let mut table = ChildTable::new(process("a"));
    let owner = start_with(&mut table, spec("c1"), &keeps(), &FakeHost::default()).unwrap();
    let record = table.get("c1").unwrap();
    assert_eq!(record.owner, owner);
    assert_eq!(record.starts, 0);
    assert!(["a", "b", "c"].map(name).contains(&owner));
}

#[test]
fn a_start_of_an_id_the_table_holds_is_refused_and_writes_nothing() {
    let mut table = ChildTable::new(process("a"));
    let owner = start_with(&mut table, spec("c1"), &keeps(), &FakeHost::default()).unwrap();
    let before = table.changes();
    assert_eq!(
        start_with(&mut table, spec("c1"), &keeps(), &FakeHost::default()),
        Err(StartRefused::AlreadyStarted {
            id: "c1".into(),
            owner,
        })
    );
    assert_eq!(table.changes(), before);
}

#[test]
fn a_start_of_a_name_an_actor_holds_is_refused_and_writes_nothing() {
    let mut table = ChildTable::new(process("a"));
    let mut host = FakeHost::default();
    host.holders.insert("svc".into(), pid("b", 9));
    assert_eq!(
        start_with(&mut table, spec("svc"), &keeps(), &host),
        Err(StartRefused::NameTaken {
            id: "svc".into(),
            holder: pid("b", 9),
        })
    );
    assert!(table.is_empty());
}

#[test]
fn an_isolated_node_starts_nothing() {
    let mut table = ChildTable::new(process("a"));
    let isolated = verdict(&["a"], true, false);
    assert_eq!(
        start_with(&mut table, spec("c1"), &isolated, &FakeHost::default()),
        Err(StartRefused::Isolated)
    );
    assert!(table.is_empty());
}

#[test]
fn a_start_no_member_is_eligible_for_is_refused_by_placement() {
    let mut table = ChildTable::new(process("a"));
    let mut gpu = spec("c1");
    gpu.placement.role = Some("gpu".into());
    assert_eq!(
        start_with(&mut table, gpu, &keeps(), &FakeHost::default()),
        Err(StartRefused::Placement(PlacementError::NoEligibleNode {
            role: Some("gpu".into())
        }))
    );
    assert!(table.is_empty());
}

#[test]
fn terminate_removes_a_child_once_and_its_id_may_start_again() {
    let mut table = ChildTable::new(process("a"));
    start_with(&mut table, spec("c1"), &keeps(), &FakeHost::default()).unwrap();
    assert!(terminate(&mut table, "c1"));
    assert!(table.get("c1").is_none());
    let before = table.changes();
    assert!(!terminate(&mut table, "c1"));
    assert_eq!(table.changes(), before, "a second terminate writes nothing");
    assert!(start_with(&mut table, spec("c1"), &keeps(), &FakeHost::default()).is_ok());
}
