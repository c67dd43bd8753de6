//! Starts and exits of the instances this node runs: recording a start, and restarting or
//! giving up a child that stopped, as its restart type and intensity say.

use super::{ChildManager, Instance};
use crate::actor_wire::{ExitReason, Pid};
use crate::children::{ChildTable, Restart, StartKind};
use crate::node_id::NodeName;

impl ChildManager {
    /// Child `id` runs here now as `instance`, started from the state node `handed_from`
    /// handed over (`None`: from its spec). Records the start in the table.
    ///
    /// The table may have changed since the look that decided the start (the driver starts
    /// after it awaited its handoffs, and frames merge meanwhile). A write that now says the
    /// child is another node's was made without seeing this start: after a start from a
    /// handed-over state it is a concurrent move of the same state, and the record of the
    /// instance that holds the state is put back over it (the module doc's reclaim rule);
    /// after a start from the spec nothing is recorded, and the next look stops the instance.
    pub fn started(
        &mut self,
        table: &mut ChildTable,
        id: &str,
        instance: Instance,
        handed_from: Option<NodeName>,
    ) {
        self.running.insert(id.to_owned(), instance);
        let Some(mut r) = table.get(id).cloned() else {
            return;
        };
        if r.owner != self.local && handed_from.is_none() {
            return;
        }
        let kind = match (handed_from, r.handoff_from.take()) {
            (Some(from), _) => r.last_start.handed_over_by(from),
            (None, Some(from)) => StartKind::HandoffLost { from },
            // Not the first start, no state handed over, and no decision here said why
            // (a restart or a take-over would have written it): the previous instance ran
            // in a process that is gone, typically an earlier life of this node's name
            // whose records this process inherited. Whatever the record said of that
            // instance ("handed off, state kept"), this one starts from its spec.
            (None, None)
                if r.starts > 0 && (r.last_start.kept_state() || r.last_start.handed_from().is_some()) =>
            {
                StartKind::FailedOver {
                    from: r.owner.clone(),
                }
            }
            (None, None) => r.last_start.clone(),
        };
        if r.owner != self.local {
            tracing::info!(child = %id, superseded = %r.owner, from = ?kind.handed_from(), "the child started here from its handed-over state; putting back its record over a concurrent move");
            r.owner = self.local.clone();
        }
        r.starts += 1;
        if kind.handed_from().is_some() {
            self.handed_here.insert(id.to_owned(), (kind.clone(), r.starts));
        } else {
            self.handed_here.remove(id);
        }
        r.last_start = kind;
        table.write(id, Some(r));
    }

    /// The state of child `id` could not be sent to its new owner (no link to it): the new
    /// owner starts without it rather than wait.
    pub fn handoff_undelivered(&mut self, table: &mut ChildTable, id: &str) {
        self.handed_off.remove(id);
        if table
            .get(id)
            .is_some_and(|r| r.handoff_from.as_ref() == Some(&self.local))
        {
            self.release(table, &[id.to_owned()]);
        }
    }

    /// The factory of child `id` refused to start it: counts as an exit.
    pub fn start_failed(&mut self, table: &mut ChildTable, id: &str, reason: ExitReason, now_ms: u64) {
        self.restart_or_give_up(table, id, reason, now_ms);
    }

    /// Instance `pid` of child `id` stopped for `reason`. Ignored unless it is the instance
    /// this node runs (one stopped on purpose is not). A loser of a name conflict is not
    /// restarted: the table decides who runs the child.
    pub fn handle_exit(
        &mut self,
        table: &mut ChildTable,
        id: &str,
        pid: &Pid,
        reason: ExitReason,
        now_ms: u64,
    ) {
        if self.running.get(id).is_none_or(|r| r.pid != *pid) {
            return;
        }
        self.running.remove(id);
        if !matches!(reason, ExitReason::NameConflict { .. }) {
            self.restart_or_give_up(table, id, reason, now_ms);
        }
    }

    /// Child `id` stopped for `reason`: removed if its restart type says it is done, given up
    /// if it restarted too often, else marked for a restart here.
    fn restart_or_give_up(&self, table: &mut ChildTable, id: &str, reason: ExitReason, now_ms: u64) {
        let Some(mut r) = table.get(id).cloned() else {
            return;
        };
        if r.owner != self.local || r.failed.is_some() {
            return;
        }
        if finished(r.spec.restart, &reason) {
            table.write(id, None);
            return;
        }
        if r.note_restart(now_ms) {
            r.last_start = StartKind::Restarted { reason };
        } else {
            tracing::error!(child = %id, %reason, "too many restarts; giving the child up");
            r.failed = Some(ExitReason::MaxRestarts);
        }
        table.write(id, Some(r));
    }
}

/// Whether `reason` ends a child of restart type `restart` for good.
pub fn finished(restart: Restart, reason: &ExitReason) -> bool {
    match restart {
        Restart::Permanent => false,
        Restart::Transient => reason.is_normal(),
        Restart::Temporary => true,
    }
}
