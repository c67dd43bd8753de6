//! [`Signal`]: the system signals an actor's [`Actor::handle_signal`](super::Actor::handle_signal)(super::Actor::handle_signal)
//! receives, and [`MonitorRef`], which names one monitor.

use super::{ExitReason, Pid};

/// A system signal handed to [`Actor::handle_signal`](super::Actor::handle_signal). More kinds may come: match with a
/// wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal {
    /// A monitored actor stopped (delivered once per monitor).
    Down {
        /// The monitor that fired, as returned by [`Ctx::monitor`](super::Ctx::monitor).
        monitor: MonitorRef,
        /// The actor that stopped.
        pid: Pid,
        /// Why.
        reason: ExitReason,
    },
    /// A linked actor stopped; delivered only while trapping exits ([`Ctx::trap_exits`](super::Ctx::trap_exits)).
    Exit {
        /// The actor that stopped.
        from: Pid,
        /// Why.
        reason: ExitReason,
    },
    /// This actor's registered `name` went to `winner` (policy [`ConflictPolicy::Notify`](super::ConflictPolicy::Notify)).
    NameConflict {
        /// The name it no longer holds.
        name: String,
        /// The actor that holds it now.
        winner: Pid,
    },
}

/// Identifies one monitor, to match its `Down` or cancel it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MonitorRef(pub(crate) u64);
