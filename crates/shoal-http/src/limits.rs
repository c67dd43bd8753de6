//! How much a client of the HTTP API can make the node hold, and for how long.

use std::num::NonZeroUsize;
use std::time::Duration;

use nix::sys::resource::{Resource, getrlimit};

/// Limits on the HTTP server's connections. [`HttpLimits::for_this_process`] gives the
/// defaults; `docs/design-notes.md` ("The HTTP server bounds its connections") says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// How long a connection may go without a complete request head: from accept to the end
    /// of the first request's headers, and again from the end of each response to the end of
    /// the next request's headers. This is also the keep-alive idle timeout. The connection
    /// is closed when it runs out. Default 5 s.
    pub header_timeout: Duration,
    /// How long a response write may make no progress (the client does not read) before the
    /// connection is closed; like nginx's `send_timeout`, it is measured between successive
    /// writes, not over the whole response. Default 10 s.
    pub send_timeout: Duration,
    /// Open connections at most. Past it, a new connection closes the oldest idle one (no
    /// request in flight); if none is idle, the new one is answered `503` and closed at
    /// once. Default: a quarter of the process's open-file limit, between 4 and 256, so the
    /// node's own links, sockets and files keep three quarters of the descriptors.
    pub max_connections: NonZeroUsize,
    /// How long [`crate::serve`] lets open requests finish after its shutdown signal before
    /// it drops their connections. Default 5 s.
    pub shutdown_grace: Duration,
}

/// The fewest connections the default allows, whatever the open-file limit.
const MIN_CONNECTIONS: usize = 4;
/// The most connections the default allows: plenty for an operator's API.
const MAX_CONNECTIONS: usize = 256;

impl HttpLimits {
    /// The defaults, with `max_connections` taken from this process's soft open-file limit
    /// (`ulimit -n`); 256 when the limit cannot be read.
    pub fn for_this_process() -> Self {
        let soft = getrlimit(Resource::RLIMIT_NOFILE).map_or(u64::MAX, |(soft, _hard)| soft);
        Self::for_fd_limit(soft)
    }

    /// The defaults for a process that may open `fd_limit` descriptors.
    pub fn for_fd_limit(fd_limit: u64) -> Self {
        let quarter = usize::try_from(fd_limit / 4).unwrap_or(usize::MAX);
        let max = quarter.clamp(MIN_CONNECTIONS, MAX_CONNECTIONS);
        Self {
            header_timeout: Duration::from_secs(5),
            send_timeout: Duration::from_secs(10),
            // `max` is at least MIN_CONNECTIONS, which is not zero.
            max_connections: NonZeroUsize::new(max).unwrap_or(NonZeroUsize::MIN),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self::for_this_process()
    }
}

#[cfg(test)]
mod tests {
    use super::HttpLimits;

    #[test]
    fn default_cap_is_a_quarter_of_the_fd_limit_within_bounds() {
        assert_eq!(HttpLimits::for_fd_limit(64).max_connections.get(), 16);
        assert_eq!(HttpLimits::for_fd_limit(1024).max_connections.get(), 256);
        assert_eq!(HttpLimits::for_fd_limit(1 << 20).max_connections.get(), 256);
        assert_eq!(HttpLimits::for_fd_limit(8).max_connections.get(), 4);
        assert_eq!(HttpLimits::for_fd_limit(u64::MAX).max_connections.get(), 256);
    }
}
