//! Every membership event any node published, in order, for expectations and replay checks.

use std::time::Duration;

use shoal_proto::{DownReason, Event, NodeId, NodeName};

/// One event as a node published it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// Virtual time.
    pub at: Duration,
    /// Who published it, as it was known then.
    pub observer: NodeId,
    /// Which run of the observer's slot: 0 for its first start, plus one per restart.
    pub life: u32,
    /// The event.
    pub event: Event,
    /// For `NodeDown` with `Failed` or `Crashed`: the downed life was running at that moment, so the
    /// verdict was false (legitimate under a partition, a bug on a healthy network).
    pub false_failure: bool,
}

/// The events of a whole run, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    records: Vec<Observed>,
    false_failures: usize,
}

impl History {
    /// Appends one record.
    pub(crate) fn push(&mut self, record: Observed) {
        self.false_failures += usize::from(record.false_failure);
        self.records.push(record);
    }

    /// Every record, oldest first.
    pub fn records(&self) -> &[Observed] {
        &self.records
    }

    /// Records published by any life of the node named `name`.
    pub fn by<'a>(&'a self, name: &'a NodeName) -> impl Iterator<Item = &'a Observed> + 'a {
        self.records.iter().filter(move |r| r.observer.name == *name)
    }

    /// `NodeDown` records with `Failed` or `Crashed` about lives that were running at the time.
    pub fn false_failures(&self) -> impl Iterator<Item = &Observed> {
        self.records.iter().filter(|r| r.false_failure)
    }

    /// How many false failures there were (kept as a counter, so this is cheap).
    pub fn false_failure_count(&self) -> usize {
        self.false_failures
    }

    /// Reasons for which `observer` (in run `life`) reported `id` down.
    pub fn downs_of<'a>(
        &'a self,
        observer: &'a NodeName,
        life: u32,
        id: &'a NodeId,
    ) -> impl Iterator<Item = DownReason> + 'a {
        self.by(observer)
            .filter(move |r| r.life == life)
            .filter_map(move |r| match &r.event {
                Event::NodeDown { id: down, reason } if down == id => Some(*reason),
                _ => None,
            })
    }

    /// Every id of the node named `subject` that `observer` (in run `life`) reported up.
    pub fn ups_of<'a>(
        &'a self,
        observer: &'a NodeName,
        life: u32,
        subject: &'a NodeName,
    ) -> impl Iterator<Item = &'a NodeId> + 'a {
        self.by(observer)
            .filter(move |r| r.life == life)
            .filter_map(move |r| match &r.event {
                Event::NodeUp(m) if m.id.name == *subject => Some(&m.id),
                _ => None,
            })
    }

    /// The last `n` records, one per line, for failure reports.
    pub fn tail(&self, n: usize) -> String {
        let start = self.records.len().saturating_sub(n);
        self.records[start..]
            .iter()
            .map(|r| format!("  {:>10.3?} {}: {}\n", r.at, r.observer, describe(&r.event)))
            .collect()
    }
}

/// A one-line description of an event.
pub fn describe(event: &Event) -> String {
    match event {
        Event::NodeUp(m) => format!("NodeUp({})", m.id),
        Event::NodeSuspect(id) => format!("NodeSuspect({id})"),
        Event::NodeDown { id, reason } => format!("NodeDown({id}, {reason:?})"),
        Event::Renewed(m) => format!("Renewed({})", m.id),
        Event::NameTaken { by } => format!("NameTaken(by {by})"),
        Event::Stalled { gap } => format!("Stalled({gap:?})"),
        Event::ActorsDown(id) => format!("ActorsDown({id})"),
    }
}
