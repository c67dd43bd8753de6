//! What the child table holds about one child: its spec (id, factory, arguments, restart
//! type, placement, intensity) and its record (owner, handoff, starts and restarts).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::actor_wire::ExitReason;
use crate::node_id::NodeName;
use crate::placement::PlacementHints;

/// When a stopped child is started again (as in Erlang supervisors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Restart {
    /// Always, whatever the reason (the default).
    #[default]
    Permanent,
    /// Only after an abnormal exit (not `Normal` or `Shutdown`).
    Transient,
    /// Never: not after an exit, nor when its node goes down.
    Temporary,
}

/// At most `max_restarts` restarts within `within_ms`; one more and the child is given up
/// ([`ChildRecord::failed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Intensity {
    /// Restarts allowed in the window.
    pub max_restarts: u32,
    /// The window, in milliseconds.
    pub within_ms: u64,
}

impl Default for Intensity {
    /// 3 restarts in 5 seconds (Horde's default).
    fn default() -> Self {
        Self {
            max_restarts: 3,
            within_ms: 5_000,
        }
    }
}

/// What a distributed supervisor's child is: the cluster-wide id (also its registered name),
/// the factory and arguments that build it on any node, and how it is restarted and placed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildSpec {
    /// Cluster-wide id; the running instance is registered under it.
    pub id: String,
    /// A factory registered on every eligible node.
    pub factory: String,
    /// The factory's arguments, encoded (postcard).
    pub args: Bytes,
    /// Restart type.
    pub restart: Restart,
    /// Where it may run.
    pub placement: PlacementHints,
    /// Restart intensity.
    pub intensity: Intensity,
}

impl ChildSpec {
    /// A permanent child `id` built by `factory` from `args`, placed uniformly, with the
    /// default intensity. Fails only if `args` do not encode.
    pub fn new<A: Serialize>(
        id: impl Into<String>,
        factory: impl Into<String>,
        args: &A,
    ) -> Result<Self, postcard::Error> {
        Ok(Self {
            id: id.into(),
            factory: factory.into(),
            args: Bytes::from(postcard::to_stdvec(args)?),
            restart: Restart::default(),
            placement: PlacementHints::default(),
            intensity: Intensity::default(),
        })
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Sets the placement strategy.
    pub fn strategy(mut self, strategy: crate::placement::PlacementStrategy) -> Self {
        self.placement.strategy = strategy;
        self
    }

    /// Limits placement to nodes with `role`.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.placement.role = Some(role.into());
        self
    }

    /// Sets the restart intensity: at most `max_restarts` within `within`.
    pub fn intensity(mut self, max_restarts: u32, within: std::time::Duration) -> Self {
        self.intensity = Intensity {
            max_restarts,
            within_ms: within.as_millis() as u64,
        };
        self
    }
}

/// How the current instance of a child came to be.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartKind {
    /// Not started yet, or started from its spec for the first time.
    #[default]
    Fresh,
    /// Restarted on its owner after it stopped; in-memory state was lost.
    Restarted {
        /// Why the previous instance stopped.
        reason: ExitReason,
    },
    /// Restarted on a new owner after its node went down; in-memory state was lost.
    FailedOver {
        /// The node that went down.
        from: NodeName,
    },
    /// Moved from another node with its state (migration, rebalancing or a graceful leave).
    HandedOff {
        /// The previous owner.
        from: NodeName,
    },
    /// A handoff began but the previous owner went down first: started from its spec, the
    /// state was lost.
    HandoffLost {
        /// The previous owner.
        from: NodeName,
    },
    /// Moved from another node with the state of the instance there, but that instance had
    /// itself started without its predecessor's state (it was restarted or taken over, and
    /// moved on before running long: a node that takes over a lost node's children and
    /// then leaves). The state carried is newer than the loss, so it was not kept.
    HandedOffAfterLoss {
        /// The previous owner.
        from: NodeName,
        /// How the instance that handed its state over had started (never a `HandedOff`).
        lost: Box<StartKind>,
    },
}

impl StartKind {
    /// Whether the instance started from a previous instance's state (or had none to lose).
    pub fn kept_state(&self) -> bool {
        matches!(self, Self::Fresh | Self::HandedOff { .. })
    }

    /// How an instance that starts from the state handed over by `from` starts, given how
    /// the instance that handed it over had started (`self`): `HandedOff` if that one kept
    /// its state, else `HandedOffAfterLoss` (the loss is said once, by the first instance
    /// that runs from the carried state; a move of that one is an ordinary `HandedOff`).
    pub fn handed_over_by(&self, from: NodeName) -> StartKind {
        match self {
            Self::Fresh | Self::HandedOff { .. } | Self::HandedOffAfterLoss { .. } => {
                Self::HandedOff { from }
            }
            lost => Self::HandedOffAfterLoss {
                from,
                lost: Box::new(lost.clone()),
            },
        }
    }

    /// The node that handed its state over, for an instance that started from one.
    pub fn handed_from(&self) -> Option<&NodeName> {
        match self {
            Self::HandedOff { from } | Self::HandedOffAfterLoss { from, .. } => Some(from),
            _ => None,
        }
    }
}

/// A child as the table holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildRecord {
    /// The spec.
    pub spec: ChildSpec,
    /// The node that must run it.
    pub owner: NodeName,
    /// Set while the child moves with its state: the previous owner, which hands the state
    /// to `owner`; `owner` waits for it (or for that node to go down) before it starts.
    pub handoff_from: Option<NodeName>,
    /// Instances started so far.
    pub starts: u32,
    /// Recent restart times (ms since the Unix epoch), for the intensity limit.
    pub restarts_ms: Vec<u64>,
    /// How the current (or next) instance starts.
    pub last_start: StartKind,
    /// Set when the child was given up (too many restarts): no node runs it.
    pub failed: Option<ExitReason>,
}

impl ChildRecord {
    /// A new child owned by `owner`.
    pub fn new(spec: ChildSpec, owner: NodeName) -> Self {
        Self {
            spec,
            owner,
            handoff_from: None,
            starts: 0,
            restarts_ms: Vec::new(),
            last_start: StartKind::Fresh,
            failed: None,
        }
    }

    /// Records a restart at `now_ms`; returns false (and keeps it) if it is one too many
    /// for the intensity limit.
    pub fn note_restart(&mut self, now_ms: u64) -> bool {
        let window = self.spec.intensity.within_ms;
        self.restarts_ms.retain(|t| now_ms.saturating_sub(*t) < window);
        self.restarts_ms.push(now_ms);
        self.restarts_ms.len() <= self.spec.intensity.max_restarts as usize
    }
}
