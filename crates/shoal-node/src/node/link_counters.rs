//! [`LinkCounters`]: the links' counters of refused network input.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::throttle::Throttle;

/// Counters of refused network input on the links (gossip counters are in [`MembershipStats`]).
///
/// [`MembershipStats`]: shoal_proto::MembershipStats
#[derive(Debug, Default)]
pub(crate) struct LinkCounters {
    pub(crate) bad_frames: AtomicU64,
    pub(crate) oversized_frames: AtomicU64,
    pub(crate) handshake_failures: AtomicU64,
    pub(crate) handshakes_shed: AtomicU64,
    /// `handshake_failures` by [`HandshakeReason`], indexed by its discriminant.
    handshake_reasons: [AtomicU64; HandshakeReason::ALL.len()],
    /// Rate limit of the warnings about refused connections (anyone can cause them).
    pub(crate) refusal_warnings: Throttle,
}

/// Why a handshake failed, as the `reason` label of `shoal_handshake_failures_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandshakeReason {
    /// The peer's proof is wrong: the two sides hold different cookies.
    Cookie,
    /// The peer refused our proof or our hello.
    Rejected,
    /// No protocol version in common.
    Protocol,
    /// The peer claims our own name (often a dial to ourselves).
    SameName,
    /// A message out of order.
    Unexpected,
    /// A frame that is not a Shoal handshake message.
    NotShoal,
    /// A frame over the handshake's length limit.
    Oversized,
    /// The peer closed the connection mid-handshake.
    Closed,
    /// Not finished within the handshake timeout.
    Timeout,
    /// TLS failed or did not match: a certificate from another CA, none, or one side
    /// without TLS (`--tls`).
    Tls,
}

impl HandshakeReason {
    /// Every reason, in discriminant order.
    pub(crate) const ALL: [Self; 10] = [
        Self::Cookie,
        Self::Rejected,
        Self::Protocol,
        Self::SameName,
        Self::Unexpected,
        Self::NotShoal,
        Self::Oversized,
        Self::Closed,
        Self::Timeout,
        Self::Tls,
    ];

    /// The label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::Rejected => "rejected",
            Self::Protocol => "protocol",
            Self::SameName => "same_name",
            Self::Unexpected => "unexpected",
            Self::NotShoal => "not_shoal",
            Self::Oversized => "oversized",
            Self::Closed => "closed",
            Self::Timeout => "timeout",
            Self::Tls => "tls",
        }
    }
}

impl LinkCounters {
    /// Counts one failed handshake.
    pub(crate) fn count_handshake_failure(&self, reason: HandshakeReason) {
        self.handshake_failures.fetch_add(1, Ordering::Relaxed);
        self.handshake_reasons[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Failed handshakes by reason, in [`HandshakeReason::ALL`] order.
    pub(crate) fn handshake_failures_by_reason(
        &self,
    ) -> [(HandshakeReason, u64); HandshakeReason::ALL.len()] {
        HandshakeReason::ALL.map(|r| (r, self.handshake_reasons[r as usize].load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_indexes_its_own_counter() {
        for (i, reason) in HandshakeReason::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, i);
        }
        let counters = LinkCounters::default();
        counters.count_handshake_failure(HandshakeReason::Timeout);
        counters.count_handshake_failure(HandshakeReason::Cookie);
        counters.count_handshake_failure(HandshakeReason::Cookie);
        let by_reason = counters.handshake_failures_by_reason();
        assert_eq!(by_reason[HandshakeReason::Cookie as usize].1, 2);
        assert_eq!(by_reason[HandshakeReason::Timeout as usize].1, 1);
        assert_eq!(counters.handshake_failures.load(Ordering::Relaxed), 3);
    }
}
