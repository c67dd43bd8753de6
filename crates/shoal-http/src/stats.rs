//! Counters of the HTTP server's connections, shown in `/api/node` as `stats.http`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// What the HTTP server did with its connections since the node started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HttpStats {
    /// Connections open now.
    pub open: u64,
    /// Connections accepted and served.
    pub accepted: u64,
    /// Connections answered `503` and closed at once: the cap was reached and none was idle.
    pub refused: u64,
    /// Idle connections closed to make room for a new one at the cap.
    pub evicted: u64,
    /// Connections closed because no complete request head came within the header timeout
    /// (a silent, half-sent or idle keep-alive connection).
    pub header_timeouts: u64,
    /// Connections closed because a response write made no progress within the send timeout.
    pub send_timeouts: u64,
    /// `accept` calls that failed (for example out of file descriptors).
    pub accept_errors: u64,
}

/// The live counters behind [`HttpStats`], shared by the server and the handlers.
#[derive(Debug, Default)]
pub(crate) struct HttpCounters {
    pub(crate) open: AtomicU64,
    pub(crate) accepted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) evicted: AtomicU64,
    pub(crate) header_timeouts: AtomicU64,
    pub(crate) send_timeouts: AtomicU64,
    pub(crate) accept_errors: AtomicU64,
}

impl HttpCounters {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A copy of the counters now.
    pub(crate) fn snapshot(&self) -> HttpStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        HttpStats {
            open: read(&self.open),
            accepted: read(&self.accepted),
            refused: read(&self.refused),
            evicted: read(&self.evicted),
            header_timeouts: read(&self.header_timeouts),
            send_timeouts: read(&self.send_timeouts),
            accept_errors: read(&self.accept_errors),
        }
    }
}
