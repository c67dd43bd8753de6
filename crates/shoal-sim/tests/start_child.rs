//! The start-child rule in the simulator is the node's (`child_manager::start`): a start is
//! refused for an id that a replica already holds as a child, for a name a registered
//! actor holds, and on a node the split-brain resolver isolated; nothing is written then.
//!
//! Replay one seed with `SHOAL_SIM_SEED=<seed> cargo test -p shoal-sim --test start_child`.

use std::time::Duration;

use shoal_proto::child_manager::StartRefused;
use shoal_proto::children::ChildSpec;
use shoal_sim::{Sim, SimConfig, SimError, seeds};

const NODES: [&str; 3] = ["n1", "n2", "n3"];
const POLL: Duration = Duration::from_millis(20);
const DEADLINE: Duration = Duration::from_secs(20);

fn spec(id: &str) -> ChildSpec {
    ChildSpec::new(id, "sim", &()).expect("unit args encode")
}

fn e(err: SimError) -> String {
    err.to_string()
}

fn cluster(seed: u64) -> Result<Sim, String> {
    let mut sim = Sim::new(seed, SimConfig::lan());
    if !sim.form_mesh(&NODES).map_err(e)? {
        return Err("the cluster never formed".into());
    }
    Ok(sim)
}

/// Runs every seed of `case`; fails with each failing seed and why.
fn for_seeds(case: fn(u64) -> Result<(), String>) {
    let failed: Vec<String> = seeds(5)
        .into_iter()
        .filter_map(|seed| case(seed).err().map(|err| format!("seed {seed}: {err}")))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// A child started from n1 is refused from n3 once n3's replica holds it; the one instance
/// runs on, from the first start.
fn already_started(seed: u64) -> Result<(), String> {
    let mut sim = cluster(seed)?;
    let owner = sim
        .start_child("n1", spec("c"))
        .map_err(e)?
        .map_err(|err| format!("the first start: {err}"))?;
    let first = |s: &Sim| {
        s.child_record("n3", "c").is_some_and(|r| r.starts == 1)
            && s.child_instances().get("c").is_some_and(|p| p.len() == 1)
    };
    if !sim.run_until(first, POLL, DEADLINE).map_err(e)? {
        return Err("the child never ran once with n3 holding its record".into());
    }
    let before = sim.child_record("n3", "c");
    let second = sim.start_child("n3", spec("c")).map_err(e)?;
    let refused = StartRefused::AlreadyStarted {
        id: "c".into(),
        owner: owner.clone(),
    };
    if second != Err(refused) {
        return Err(format!("the second start from n3 gave {second:?}"));
    }
    if sim.child_record("n3", "c") != before {
        return Err("the refused start wrote to n3's replica".into());
    }
    sim.run_for(Duration::from_secs(2)).map_err(e)?;
    let pids = sim.child_instances().remove("c").unwrap_or_default();
    if pids.len() != 1 || pids[0].node.name != owner {
        return Err(format!(
            "after the refusal the child runs as {pids:?}, not once on {owner}"
        ));
    }
    Ok(())
}

#[test]
fn a_start_of_an_id_another_replica_started_is_refused() {
    for_seeds(already_started);
}

/// An actor registered as "svc" on n2: a start of child "svc" from n1 is refused once n1's
/// registry replica knows the name, and no child "svc" is written or run.
fn name_taken(seed: u64) -> Result<(), String> {
    let mut sim = cluster(seed)?;
    sim.register("n2", "svc", 7)
        .map_err(e)?
        .map_err(|err| format!("registering svc: {err}"))?;
    let known = |s: &Sim| {
        s.registry_view("n1")
            .is_some_and(|names| names.iter().any(|(name, _)| name == "svc"))
    };
    if !sim.run_until(known, POLL, DEADLINE).map_err(e)? {
        return Err("n1 never heard of the name svc".into());
    }
    let holder = sim.process_id("n2").ok_or("n2 does not run")?;
    match sim.start_child("n1", spec("svc")).map_err(e)? {
        Err(StartRefused::NameTaken { id, holder: pid }) if id == "svc" && pid.node == holder => {}
        other => return Err(format!("the start from n1 gave {other:?}")),
    }
    sim.run_for(Duration::from_secs(2)).map_err(e)?;
    if NODES.iter().any(|n| sim.child_record(n, "svc").is_some()) {
        return Err("a replica holds a child svc after the refusal".into());
    }
    if sim.child_instances().contains_key("svc") {
        return Err("a child svc runs after the refusal".into());
    }
    Ok(())
}

#[test]
fn a_start_of_a_name_a_registered_actor_holds_is_refused() {
    for_seeds(name_taken);
}

/// n1 cut from n2 and n3: once its resolver isolates it, a start from n1 is refused and
/// writes nothing, while the majority side still starts children.
fn isolated(seed: u64) -> Result<(), String> {
    let mut sim = cluster(seed)?;
    sim.start_child("n1", spec("c0"))
        .map_err(e)?
        .map_err(|err| format!("starting c0: {err}"))?;
    sim.partition(&["n1"], &["n2", "n3"]).map_err(e)?;
    let cut_off = |s: &Sim| s.is_isolated("n1") == Some(true);
    if !sim.run_until(cut_off, POLL, DEADLINE).map_err(e)? {
        return Err("n1 was never isolated".into());
    }
    match sim.start_child("n1", spec("c1")).map_err(e)? {
        Err(StartRefused::Isolated) => {}
        other => return Err(format!("the start on isolated n1 gave {other:?}")),
    }
    if sim.child_record("n1", "c1").is_some() {
        return Err("the refused start wrote to n1's replica".into());
    }
    sim.start_child("n2", spec("c2"))
        .map_err(e)?
        .map_err(|err| format!("the majority side refused c2: {err}"))?;
    Ok(())
}

#[test]
fn an_isolated_node_refuses_to_start_a_child() {
    for_seeds(isolated);
}
