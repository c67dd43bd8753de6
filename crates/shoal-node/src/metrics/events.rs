//! Event counts from the node's [`History`](crate::history::History), as metric families:
//! the history counts every event it records by kind and reason, so these add no counter
//! of their own. Families whose label values form a known set start at zero; reasons only
//! the recording site knows (a member's down reason) appear once they first happen.

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;
use shoal_api::views::EventKind;

use super::write::{counter, counters};

/// Membership event kinds, as `shoal_membership_events_total` labels them.
const MEMBERSHIP: [EventKind; 7] = [
    EventKind::NodeUp,
    EventKind::NodeSuspect,
    EventKind::NodeDown,
    EventKind::Renewed,
    EventKind::ActorsDown,
    EventKind::Stalled,
    EventKind::NameTaken,
];

/// How a supervised child can start (the `how` label of `shoal_child_starts_total`).
const STARTS: [&str; 6] = [
    "fresh",
    "restarted",
    "failed_over",
    "handed_off",
    "handoff_lost",
    "handed_off_after_loss",
];

/// Counts by kind and reason, as [`History::counts`](crate::history::History::counts)
/// returns them.
pub(crate) struct Counts(pub(crate) Vec<(EventKind, Option<&'static str>, u64)>);

impl Counts {
    /// Events of `kind` with `reason`.
    fn of(&self, kind: EventKind, reason: Option<&str>) -> u64 {
        self.0
            .iter()
            .filter(|(k, r, _)| *k == kind && *r == reason)
            .map(|(_, _, n)| n)
            .sum()
    }

    /// Events of `kind`, whatever the reason.
    fn all(&self, kind: EventKind) -> u64 {
        self.0
            .iter()
            .filter(|(k, _, _)| *k == kind)
            .map(|(_, _, n)| n)
            .sum()
    }

    /// Rows `(kind, reason, n)` of the membership kinds: one per kind and recorded reason,
    /// and a zero row for a kind not seen yet.
    fn membership(&self) -> Vec<(EventKind, &'static str, u64)> {
        let mut rows = Vec::new();
        for kind in MEMBERSHIP {
            let seen: Vec<_> = self.0.iter().filter(|(k, _, _)| *k == kind).collect();
            if seen.is_empty() {
                rows.push((kind, "", 0));
            }
            rows.extend(seen.into_iter().map(|(k, r, n)| (*k, r.unwrap_or(""), *n)));
        }
        rows
    }

    /// Writes every event family.
    pub(crate) fn encode(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let rows = self.membership();
        let membership = rows
            .iter()
            .map(|(k, r, n)| ([("kind", k.as_str()), ("reason", *r)], *n));
        counters(
            enc,
            "shoal_membership_events",
            "Membership events this node saw, by kind and reason (the down reason of node_down; empty for other kinds).",
            membership,
        )?;
        let decisions =
            ["isolated", "runs_again"].map(|d| ([("decision", d)], self.of(EventKind::SplitBrain, Some(d))));
        counters(
            enc,
            "shoal_split_brain_decisions",
            "Split-brain resolver decisions about this node's side.",
            decisions,
        )?;
        counter(
            enc,
            "shoal_registry_conflicts",
            "Registered names found held twice and resolved on this node.",
            self.all(EventKind::RegistryConflict),
        )?;
        counter(
            enc,
            "shoal_restarts",
            "Children restarted by local supervisors on this node.",
            self.all(EventKind::Restart),
        )?;
        let starts = STARTS.map(|how| ([("how", how)], self.of(EventKind::ChildStarted, Some(how))));
        counters(
            enc,
            "shoal_child_starts",
            "Distributed-supervisor children started on this node, by how (failed_over: a failover).",
            starts,
        )?;
        counter(
            enc,
            "shoal_child_stops",
            "Distributed-supervisor children whose instance on this node stopped.",
            self.all(EventKind::ChildStopped),
        )?;
        let handoffs =
            ["sent", "undelivered"].map(|r| ([("result", r)], self.of(EventKind::Handoff, Some(r))));
        counters(
            enc,
            "shoal_handoffs",
            "Children this node handed over to their new owner, by result.",
            handoffs,
        )?;
        let singletons = [
            ("started", EventKind::SingletonStarted),
            ("stopped", EventKind::SingletonStopped),
        ]
        .map(|(change, kind)| ([("change", change)], self.all(kind)));
        counters(
            enc,
            "shoal_singleton_changes",
            "Cluster singletons started and stopped on this node.",
            singletons,
        )?;
        let chaos = ["partition", "heal"].map(|a| ([("action", a)], self.of(EventKind::Chaos, Some(a))));
        counters(
            enc,
            "shoal_chaos_actions",
            "Fault injection applied to this node.",
            chaos,
        )?;
        counter(
            enc,
            "shoal_actors_killed",
            "Actors killed through the HTTP API on this node.",
            self.all(EventKind::ActorKilled),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_rows_keep_each_recorded_reason_and_a_zero_for_kinds_not_seen() {
        let counts = Counts(vec![
            (EventKind::NodeDown, Some("Left"), 2),
            (EventKind::NodeDown, Some("Crashed"), 1),
            (EventKind::NodeUp, None, 3),
        ]);
        let rows = counts.membership();
        assert!(rows.contains(&(EventKind::NodeDown, "Left", 2)));
        assert!(rows.contains(&(EventKind::NodeDown, "Crashed", 1)));
        assert!(rows.contains(&(EventKind::NodeUp, "", 3)));
        assert!(rows.contains(&(EventKind::Stalled, "", 0)));
        assert_eq!(rows.len(), 8);
        assert_eq!(counts.all(EventKind::NodeDown), 3);
        assert_eq!(counts.of(EventKind::NodeDown, Some("Left")), 2);
    }
}
