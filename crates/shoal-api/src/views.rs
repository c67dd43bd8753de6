//! Every JSON answer of the HTTP API, one type per shape: the server builds them
//! (`Serialize`), clients read them (`Deserialize`). Field names are the contract: add,
//! never rename. Times are integers whose key names the unit (`uptime_ms`, `rtt_us`).
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /health` | [`Health`] |
//! | `GET /api/node` | [`NodeView`] |
//! | `GET /api/members` | a list of [`MemberView`] |
//! | `GET /api/actors` | a list of [`ActorView`] |
//! | `GET /api/actors/{pid}` | [`ActorDetail`] |
//! | `GET /api/actors/{pid}/state` | [`StateView`] |
//! | `POST /api/actors/{pid}/kill` | [`Killed`] |
//! | `POST /api/actors/{pid}/send` | [`Sent`] |
//! | `POST /api/actors/{pid}/call` | [`CallReply`] |
//! | `GET /api/registry` | a list of [`RegistryEntry`] |
//! | `GET /api/groups` | a list of [`GroupView`] |
//! | `GET /api/supervisor` | [`SupervisorView`] |
//! | `POST /api/supervisor/migrate` | [`Migrated`] |
//! | `GET`/`POST /api/chaos...` | [`ChaosView`] |
//! | `GET /api/history` | [`HistoryPage`] |
//! | `GET /api/samples` | [`SamplesPage`] |
//! | `GET /api/actors/page`, `GET /api/cluster/actors` | [`ActorPage`] |
//! | `GET /api/dashboard/report` | [`NodeReport`] |
//! | `GET /api/cluster` | [`ClusterView`] |
//! | `GET /api/cluster/history` | [`ClusterHistory`] |
//! | `GET /api/discovery` | [`DiscoveryView`] |
//!
//! Every error is a [`crate::ErrorBody`].

mod actor;
mod dashboard;
mod discovery;
mod history;
mod node;
mod registry;
mod replies;
mod supervisor;

pub use actor::{ActorDetail, ActorView, NodeIdView, PidView};
pub use dashboard::{
    ActorPage, ClusterHistory, ClusterSamples, ClusterView, GoneNode, NodeEntry, NodeError, NodeEvent,
    NodeReport,
};
pub use discovery::{
    CandidateOutcome, CandidateView, DiscoveryView, IgnoredBeaconView, MulticastView, StrategyView,
};
pub use history::{EventKind, HistoryEvent, HistoryPage, PeerSample, Sample, SamplesPage};
pub use node::{HttpStats, MemberView, NodeCounters, NodeStatsView, NodeView};
pub use registry::{GroupView, RegistryEntry};
pub use replies::{CallReply, ChaosView, Health, Killed, Migrated, Sent, StateView};
pub use supervisor::{ChildCounts, ChildView, SupervisorView};
