//! The singleton lease: how long a node's singleton instances may act after the node last
//! looked at its singletons.
//!
//! A process that did not run for a while (`SIGSTOP`, a long GC pause, a starved VM) may have
//! been declared down meanwhile, and its singletons started elsewhere. When it runs again its
//! instances would act at once, before its view learns any of that: the two instances of a
//! singleton overlapped for up to 20 ms after every such thaw (issue 16). Under this rule a
//! node renews its lease on every look at its singletons; an instance acts only while the
//! lease holds, so after a gap longer than [`LEASE_MS`] the instances stop before they act
//! (fencing), and the node starts none again until its view has settled as after a join.

use crate::split_brain::{STABLE_AFTER, TAKE_OVER_MARGIN};

/// How long a lease holds after its last renewal. Peers take a silent node's singletons over
/// at the earliest [`TAKEOVER_AFTER_LOSS_MS`] after they lost it, which is after they last
/// heard from it; the lease ends well before, so an instance of a process that stopped
/// running has lost its right to act before a replacement can start. Shorter gaps (a node
/// looks every 100 ms) keep it.
pub const LEASE_MS: u64 = 2000;

/// The earliest a side that lost a member takes over its singletons: the resolver's stable
/// period and take-over margin. (A member whose address refused a connection is gone at
/// once, but a stopped process's socket does not refuse.)
pub const TAKEOVER_AFTER_LOSS_MS: u64 = (STABLE_AFTER.as_millis() + TAKE_OVER_MARGIN.as_millis()) as u64;

const _: () = assert!(LEASE_MS + 500 <= TAKEOVER_AFTER_LOSS_MS);

/// One node's singleton lease, on a monotonic millisecond clock of the caller's choosing
/// (one that goes on while the process is stopped). The default was renewed at 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lease {
    renewed_ms: u64,
}

impl Lease {
    /// A lease last renewed at `renewed_ms`.
    pub const fn renewed_at(renewed_ms: u64) -> Self {
        Self { renewed_ms }
    }

    /// When it was last renewed.
    pub const fn renewed_ms(self) -> u64 {
        self.renewed_ms
    }

    /// Whether the node's instances may act at `now_ms`: at most [`LEASE_MS`] after the last
    /// renewal. A clock that went back holds.
    pub const fn holds(self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.renewed_ms) <= LEASE_MS
    }

    /// Renews the lease at `now_ms` (never backwards); returns whether it had lapsed: then the
    /// node's instances must stop, and the node starts none until its view settled again
    /// (see [`crate::leader::Growth::restart`]).
    pub fn renew(&mut self, now_ms: u64) -> bool {
        let lapsed = !self.holds(now_ms);
        self.renewed_ms = self.renewed_ms.max(now_ms);
        lapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_lapses_after_a_gap_longer_than_the_lease_only() {
        let mut lease = Lease::default();
        assert!(!lease.renew(100), "the first look after start");
        assert!(!lease.renew(100 + LEASE_MS), "a gap of exactly the lease");
        assert!(lease.holds(100 + 2 * LEASE_MS));
        assert!(!lease.holds(101 + 2 * LEASE_MS));
        assert!(lease.renew(10_000 + 2 * LEASE_MS), "a process stopped for 10 s");
        assert!(lease.holds(10_000 + 2 * LEASE_MS), "renewed again");
        assert!(!lease.renew(5_000), "a clock that went back holds");
        assert_eq!(lease.renewed_ms(), 10_000 + 2 * LEASE_MS);
    }
}
