//! A deadline-ordered queue of the core's timers.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::member::Member;
use crate::node_id::{NodeId, NodeName};

/// Every timer the core sets. Stale ones are harmless: each handler re-checks its condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CoreTimer {
    /// Hand this back to foca.
    Foca(foca::Timer<Member>),
    /// Send heartbeats and check link silence.
    Heartbeat,
    /// Dial this member again if it is still live and unlinked.
    Redial(NodeName),
    /// Gossip our own departure (after the goodbyes had a head start).
    LeaveGossip,
    /// A life reported `Renewed` must have a newer life of its process by now.
    RenewalDue(NodeId),
}

/// Timers by deadline; ties fire in the order they were set.
#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    queue: BTreeMap<(Instant, u64), CoreTimer>,
    next_seq: u64,
}

impl TimerQueue {
    pub(crate) fn set(&mut self, at: Instant, timer: CoreTimer) {
        self.queue.insert((at, self.next_seq), timer);
        self.next_seq += 1;
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.queue.keys().next().map(|(at, _)| *at)
    }

    /// Moves every deadline `gap` later (this node did not run for `gap`: see
    /// `Membership::handle_timeout`).
    pub(crate) fn delay_all(&mut self, gap: Duration) {
        self.queue = std::mem::take(&mut self.queue)
            .into_iter()
            .map(|((at, seq), timer)| ((at + gap, seq), timer))
            .collect();
    }

    /// Removes and returns the earliest timer due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<CoreTimer> {
        let entry = self.queue.first_entry()?;
        (entry.key().0 <= now).then(|| entry.remove())
    }
}
