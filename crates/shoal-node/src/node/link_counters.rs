//! [`LinkCounters`]: the links' counters of refused network input.

use std::sync::atomic::AtomicU64;

use crate::throttle::Throttle;

/// Counters of refused network input on the links (gossip counters are in [`MembershipStats`]).
#[derive(Debug, Default)]
pub(crate) struct LinkCounters {
    pub(crate) bad_frames: AtomicU64,
    pub(crate) oversized_frames: AtomicU64,
    pub(crate) handshake_failures: AtomicU64,
    pub(crate) handshakes_shed: AtomicU64,
    /// Rate limit of the warnings about refused connections (anyone can cause them).
    pub(crate) refusal_warnings: Throttle,
}
