//! Counters of the HTTP server's connections, shown in `/api/node` as `stats.http`.

use std::sync::atomic::{AtomicU64, Ordering};

use shoal_api::views::HttpStats;

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
            dashboard_feeds: 0,
            dashboard_gathering: false,
        }
    }
}
