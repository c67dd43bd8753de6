//! Deterministic multi-node simulation of `shoal-proto`'s sans-io cores, driven the way
//! shoal-node drives them.
//!
//! - [`Sim`]: N nodes, each a real [`shoal_proto::Membership`] behind a simulated driver, on a
//!   virtual clock with one seeded RNG and a network with latency, datagram loss, partitions,
//!   crashes, restarts, graceful leaves and paused processes. Links run the real handshake
//!   FSM. Each node also runs the real registry replica, child table and child manager (the
//!   distributed supervisor's rules), split-brain resolver, and singleton rule with its lease;
//!   child and singleton instances are stand-ins (no actor runtime). Invariants are checked
//!   after every step.
//! - [`Scenario`], [`Step`], [`Expect`]: scripts run against a fresh `Sim` per seed; a failure
//!   prints the seed and the command that replays it.
//! - [`seeds()`]: the seed list of a test, or the single seed of `SHOAL_SIM_SEED`.
//!
//! Invariants checked after every step, on every node the step touched: no node lists itself;
//! a `NodeUp` never adds a second life of a listed name (a suspect may be announced up again);
//! no live set holds a node with another cookie; a node reports down, and suspects, only
//! members it listed; a renewal keeps the name and raises the creation; and the view built
//! from a node's events equals its core's `members()`.
//!
//! ```
//! use shoal_sim::{Expect, Scenario, Step};
//!
//! let sims = Scenario::new("two nodes meet")
//!     .then(Step::add("n1", &[]))
//!     .then(Step::add("n2", &["n1"]))
//!     .then(Step::expect(Expect::Converged, 5))
//!     .check(&shoal_sim::seeds(2));
//! assert!(sims.iter().all(|sim| sim.is_converged()));
//! ```

pub mod config;
pub mod error;
pub mod history;
pub mod scenario;
pub mod seeds;
pub mod sim;

pub use config::SimConfig;
pub use error::{SimError, Violation};
pub use history::{History, Observed};
pub use scenario::{Expect, Failure, Scenario, Step};
pub use seeds::{seed_or, seeds};
pub use sim::{NodeState, Sim, SimStats};
