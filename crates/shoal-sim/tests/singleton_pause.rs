//! A singleton holder paused until the others replaced it: on resume its lease has lapsed,
//! so its first look (its timer fires before the bytes that waited arrive) stops its
//! instance, and the instance that ran meanwhile is the one that goes on. Without the lease
//! the resumed instance ran on and the registry's conflict rule stopped the other one.
//!
//! Replay one seed with `SHOAL_SIM_SEED=<seed> cargo test -p shoal-sim --test singleton_pause`.

use std::time::Duration;

use shoal_sim::{Sim, SimConfig, SimError, seeds};

const NODES: [&str; 3] = ["n1", "n2", "n3"];
const SINGLETON: &str = "clock";
const POLL: Duration = Duration::from_millis(20);
const DEADLINE: Duration = Duration::from_secs(30);

fn e(err: SimError) -> String {
    err.to_string()
}

fn case(seed: u64) -> Result<(), String> {
    let mut sim = Sim::new(seed, SimConfig::lan());
    sim.add_singleton(SINGLETON);
    if !sim.form_mesh(&NODES).map_err(e)? {
        return Err("the cluster never formed".into());
    }
    let one = |s: &Sim| s.singleton_instances(SINGLETON).len() == 1;
    if !sim.run_until(one, POLL, DEADLINE).map_err(e)? {
        return Err("the singleton never ran once".into());
    }
    let old = sim.singleton_instances(SINGLETON)[0].clone();
    let holder = old.node.name.to_string();
    sim.pause(&holder).map_err(e)?;
    let replaced = |s: &Sim| {
        s.singleton_instances(SINGLETON)
            .iter()
            .any(|p| p.node.name != old.node.name)
    };
    if !sim.run_until(replaced, POLL, DEADLINE).map_err(e)? {
        return Err(format!("nobody replaced the paused {holder}'s instance"));
    }
    sim.resume(&holder).map_err(e)?;
    sim.run_for(Duration::from_millis(1)).map_err(e)?;
    let mut old_ran = false;
    let settled = sim
        .run_until(
            |s| {
                let now = s.singleton_instances(SINGLETON);
                old_ran |= now.contains(&old);
                now.len() == 1 && !now.contains(&old)
            },
            POLL,
            DEADLINE,
        )
        .map_err(e)?;
    if old_ran {
        return Err(format!("{holder}'s old instance {old} ran on after the resume"));
    }
    if !settled {
        return Err("the singleton never ran once again".into());
    }
    Ok(())
}

#[test]
fn a_resumed_holder_stops_its_replaced_singleton_at_its_first_look() {
    let failed: Vec<String> = seeds(10)
        .into_iter()
        .filter_map(|seed| case(seed).err().map(|err| format!("seed {seed}: {err}")))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}
