//! What a scenario expects of the cluster, as predicates over a [`Sim`].

use std::fmt;

use shoal_proto::{DownReason, NodeName};

use crate::sim::Sim;

/// A condition a scenario waits for (see [`crate::Step::Expect`]).
#[derive(Clone)]
pub enum Expect {
    /// Every running node lists exactly the current life of every other running node that
    /// holds its cookie, and nothing else.
    Converged,
    /// Every running node holds an authenticated link to every member it lists, and each link
    /// authenticated that member's current life (a full mesh, see docs/architecture.md,
    /// "Identity, links and membership").
    FullMesh,
    /// Every running node holding `name`'s cookie lists only `name`'s current life if `name`
    /// runs (nothing if it is stopped), and reported every other life of `name` that it had
    /// reported up as down, for one of `reasons`.
    Down {
        /// The node that went down (crashed, left, restarted).
        name: String,
        /// The acceptable reasons.
        reasons: Vec<DownReason>,
    },
    /// No node ever reported `name` up, and `name` never reported anyone up.
    NeverMember(String),
    /// No node has reported a running life down as `Failed` (a false positive).
    NoFalseFailure,
    /// A check of your own; `Err` says what is missing.
    Check {
        /// What it checks, for reports.
        what: &'static str,
        /// The check.
        check: fn(&Sim) -> Result<(), String>,
    },
}

impl fmt::Debug for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Converged => f.write_str("Converged"),
            Self::FullMesh => f.write_str("FullMesh"),
            Self::Down { name, reasons } => write!(f, "Down({name}, {reasons:?})"),
            Self::NeverMember(name) => write!(f, "NeverMember({name})"),
            Self::NoFalseFailure => f.write_str("NoFalseFailure"),
            Self::Check { what, .. } => write!(f, "Check({what})"),
        }
    }
}

impl Expect {
    /// Whether the condition holds now; `Err` explains the first thing that does not.
    pub fn evaluate(&self, sim: &Sim) -> Result<(), String> {
        match self {
            Self::Converged => converged(sim),
            Self::FullMesh => full_mesh(sim),
            Self::Down { name, reasons } => down(sim, name, reasons),
            Self::NeverMember(name) => never_member(sim, name),
            Self::NoFalseFailure => match sim.history().false_failures().next() {
                None => Ok(()),
                Some(r) => Err(format!(
                    "{} reported {:?} at {:?} while that life was running ({} false failures in all)",
                    r.observer,
                    r.event,
                    r.at,
                    sim.history().false_failure_count()
                )),
            },
            Self::Check { check, .. } => check(sim),
        }
    }
}

fn converged(sim: &Sim) -> Result<(), String> {
    if sim.is_converged() {
        return Ok(());
    }
    for name in sim.names().filter(|n| sim.is_running(n.as_str())) {
        let expected: Vec<String> = sim
            .names()
            .filter(|o| {
                *o != name && sim.is_running(o.as_str()) && sim.same_cookie(name.as_str(), o.as_str())
            })
            .filter_map(|o| sim.id(o.as_str()).map(|id| id.to_string()))
            .collect();
        let seen: Vec<String> = sim
            .view(name.as_str())
            .into_iter()
            .flat_map(|v| v.values().map(ToString::to_string))
            .collect();
        if seen != expected {
            return Err(format!("{name} sees {seen:?}, expected {expected:?}"));
        }
    }
    Err("not converged".into())
}

fn full_mesh(sim: &Sim) -> Result<(), String> {
    for name in sim.names().filter(|n| sim.is_running(n.as_str())) {
        let members = sim.members(name.as_str()).unwrap_or_default();
        if let Some(unlinked) = members.iter().find(|m| !m.linked) {
            return Err(format!(
                "{name} lists {} but holds no link to that life",
                unlinked.member.id
            ));
        }
    }
    Ok(())
}

fn down(sim: &Sim, name: &str, reasons: &[DownReason]) -> Result<(), String> {
    let subject = NodeName::new(name).map_err(|e| e.to_string())?;
    let current = sim.id(name).ok_or_else(|| format!("no node named {name}"))?;
    let subject_runs = sim.is_running(name);
    for observer in sim
        .names()
        .filter(|o| **o != subject && sim.is_running(o.as_str()))
    {
        if !sim.same_cookie(observer.as_str(), name) {
            continue;
        }
        let life = sim.life(observer.as_str()).unwrap_or_default();
        let listed = sim.view(observer.as_str()).and_then(|v| v.get(&subject));
        match (listed, subject_runs) {
            (Some(id), true) if *id != current => {
                return Err(format!("{observer} lists {id}, not {current}"));
            }
            (Some(id), false) => return Err(format!("{observer} still lists {id}")),
            _ => {}
        }
        for seen in sim.history().ups_of(observer, life, &subject) {
            if subject_runs && *seen == current {
                continue;
            }
            let downs: Vec<DownReason> = sim.history().downs_of(observer, life, seen).collect();
            if downs.is_empty() {
                return Err(format!("{observer} never reported {seen} down"));
            }
            if let Some(bad) = downs.iter().find(|r| !reasons.contains(r)) {
                return Err(format!(
                    "{observer} reported {seen} down as {bad:?}, expected one of {reasons:?}"
                ));
            }
        }
    }
    Ok(())
}

fn never_member(sim: &Sim, name: &str) -> Result<(), String> {
    let subject = NodeName::new(name).map_err(|e| e.to_string())?;
    for r in sim.history().records() {
        match &r.event {
            shoal_proto::Event::NodeUp(m) if m.id.name == subject => {
                return Err(format!("{} reported {} up at {:?}", r.observer, m.id, r.at));
            }
            shoal_proto::Event::NodeUp(m) if r.observer.name == subject => {
                return Err(format!("{} reported {} up at {:?}", r.observer, m.id, r.at));
            }
            _ => {}
        }
    }
    Ok(())
}
