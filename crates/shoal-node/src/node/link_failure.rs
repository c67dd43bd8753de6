//! Why a connection never became a link: counted, logged at most once a second, and for a
//! dial, recorded as the candidate's outcome in `GET /api/discovery`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use shoal_api::views::CandidateOutcome;
use shoal_proto::wire::RejectReason;
use shoal_proto::{HANDSHAKE_MAX_FRAME_LEN, HandshakeError, NodeId};

use super::link_counters::{HandshakeReason, LinkCounters};
use crate::tls;

/// How long a handshake (TLS, then the cookie's) may take.
pub(crate) const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a connection never became a link.
pub(crate) enum HandshakeFailure {
    Handshake(HandshakeError),
    /// TLS failed or did not match, with the reason in words.
    Tls(String),
    Frame(String),
    Oversized,
    Closed,
    Reset,
    TimedOut,
}

impl HandshakeFailure {
    pub(crate) fn from_io(e: &std::io::Error) -> Self {
        if let Some(tls) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Self::Tls(tls::explain_failure(tls));
        }
        match e.kind() {
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => Self::Reset,
            std::io::ErrorKind::InvalidData => Self::Oversized,
            std::io::ErrorKind::UnexpectedEof => Self::Closed,
            _ => Self::Frame(e.to_string()),
        }
    }

    /// The `reason` label this failure is counted under.
    pub(crate) fn metric_reason(&self) -> HandshakeReason {
        match self {
            Self::Handshake(HandshakeError::CookieMismatch { .. }) => HandshakeReason::Cookie,
            Self::Handshake(HandshakeError::Rejected(RejectReason::TlsRequired)) | Self::Tls(_) => {
                HandshakeReason::Tls
            }
            Self::Handshake(HandshakeError::Rejected(_)) => HandshakeReason::Rejected,
            Self::Handshake(HandshakeError::NoCommonProtocol { .. }) => HandshakeReason::Protocol,
            Self::Handshake(HandshakeError::SameName { .. }) => HandshakeReason::SameName,
            Self::Handshake(HandshakeError::Unexpected { .. }) => HandshakeReason::Unexpected,
            Self::Frame(_) => HandshakeReason::NotShoal,
            Self::Oversized => HandshakeReason::Oversized,
            Self::Closed | Self::Reset => HandshakeReason::Closed,
            Self::TimedOut => HandshakeReason::Timeout,
        }
    }

    /// A reset after the peer spoke shows a live peer dropping the connection, not a gone one.
    pub(crate) fn not_reset(self) -> Self {
        match self {
            Self::Reset => Self::Closed,
            other => other,
        }
    }

    /// What a dial that failed this way tells about its address, if it tells more than
    /// "unreachable".
    pub(crate) fn outcome(&self, local: &NodeId) -> Option<CandidateOutcome> {
        match self {
            Self::Handshake(error) => Some(refusal(error, local)),
            Self::Tls(_) => Some(CandidateOutcome::Tls),
            _ => None,
        }
    }

    /// Counts the failure and logs it (warnings at most once a second, with a count).
    pub(crate) fn report(&self, dialed: Option<SocketAddr>, counters: &LinkCounters) {
        counters.count_handshake_failure(self.metric_reason());
        let why = match self {
            Self::Handshake(HandshakeError::SameName { .. }) if dialed.is_some() => {
                tracing::debug!(?dialed, "dialled ourselves; ignoring that address");
                return;
            }
            Self::Closed | Self::Reset => {
                tracing::debug!(?dialed, "peer closed during handshake");
                return;
            }
            Self::Handshake(e) => e.to_string(),
            Self::Tls(why) => why.clone(),
            Self::Frame(e) => {
                counters.bad_frames.fetch_add(1, Ordering::Relaxed);
                format!("not a shoal peer ({e})")
            }
            Self::Oversized => {
                counters.oversized_frames.fetch_add(1, Ordering::Relaxed);
                format!("a handshake frame over {HANDSHAKE_MAX_FRAME_LEN} bytes")
            }
            Self::TimedOut => format!("handshake not finished within {HANDSHAKE_TIMEOUT:?}"),
        };
        // Anyone who can reach the port can cause these: a line a second, with a count.
        if let Some(held) = counters.refusal_warnings.allow() {
            tracing::warn!(?dialed, "link refused: {why} ({held} similar warnings held back)");
        }
    }
}

/// The outcome a refused handshake gives its candidate address.
fn refusal(error: &HandshakeError, local: &NodeId) -> CandidateOutcome {
    match error {
        HandshakeError::CookieMismatch { .. } | HandshakeError::Rejected(RejectReason::CookieMismatch) => {
            CandidateOutcome::WrongCookie
        }
        HandshakeError::NoCommonProtocol { .. }
        | HandshakeError::Rejected(RejectReason::NoCommonProtocol) => CandidateOutcome::ProtocolVersion,
        HandshakeError::SameName { peer } if peer == local => CandidateOutcome::Itself,
        HandshakeError::SameName { .. } => CandidateOutcome::NameTaken,
        HandshakeError::Rejected(RejectReason::SameName | RejectReason::NameTaken) => {
            CandidateOutcome::NameTaken
        }
        HandshakeError::Rejected(RejectReason::TlsRequired) => CandidateOutcome::Tls,
        HandshakeError::Unexpected { .. } | HandshakeError::Rejected(RejectReason::Unexpected) => {
            CandidateOutcome::Unreachable
        }
    }
}
