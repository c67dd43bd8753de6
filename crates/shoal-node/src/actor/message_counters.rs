//! [`MessageCounters`]: the outcomes of a node's sends and calls, and call latency, for
//! metrics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{CallError, SendError};
use crate::metrics::LatencyHistogram;

/// Counts that no actor's own state holds. A successful send costs nothing here (what
/// actors handled is summed from their cells at scrape time); a refused one costs one
/// relaxed atomic add; a call costs two clock reads and two relaxed atomic adds.
#[derive(Debug, Default)]
pub(crate) struct MessageCounters {
    /// Local sends and calls refused because the actor's mailbox was full.
    pub(crate) local_mailbox_full: AtomicU64,
    /// Local sends and calls to an actor that does not run.
    pub(crate) local_no_proc: AtomicU64,
    /// Remote sends and calls refused at once because the link was busy.
    pub(crate) remote_link_busy: AtomicU64,
    /// Remote sends and calls refused at once because no link to the node was up.
    pub(crate) remote_node_down: AtomicU64,
    /// Messages handled by actors that have left the table (added when each leaves, so the
    /// node's total never goes down).
    pub(crate) retired_handled: AtomicU64,
    /// Latency of calls to actors on this node, whatever their outcome.
    pub(crate) call_local: LatencyHistogram,
    /// Latency of calls to actors on other nodes, whatever their outcome.
    pub(crate) call_remote: LatencyHistogram,
}

impl MessageCounters {
    /// Counts a local send or call refused with `e`.
    pub(crate) fn count_local_refusal(&self, e: &SendError) {
        let counter = match e {
            SendError::MailboxFull => &self.local_mailbox_full,
            SendError::NoProc => &self.local_no_proc,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a remote send or call refused at once with `e`.
    pub(crate) fn count_remote_refusal(&self, e: &SendError) {
        let counter = match e {
            SendError::LinkBusy { .. } => &self.remote_link_busy,
            SendError::NodeDown(_) => &self.remote_node_down,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a finished local call: its latency, and its refusal if it was refused.
    pub(crate) fn count_local_call<T>(&self, elapsed: Duration, result: &Result<T, CallError>) {
        self.call_local.observe(elapsed);
        if let Err(CallError::NotDelivered(e)) = result {
            self.count_local_refusal(e);
        }
    }

    /// Records a finished remote call: its latency, and its refusal if it was refused.
    pub(crate) fn count_remote_call<T>(&self, elapsed: Duration, result: &Result<T, CallError>) {
        self.call_remote.observe(elapsed);
        if let Err(CallError::NotDelivered(e)) = result {
            self.count_remote_refusal(e);
        }
    }
}
