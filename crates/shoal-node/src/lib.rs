//! The tokio driver of a Shoal node: TCP links, UDP gossip, discovery, and the [`Node`] handle.
//!
//! A node inside your own program, as `shoal cluster start --bin` runs it: settings from
//! `SHOAL_*` variables ([`Node::from_env`]), your actors, then [`Node::run_until_shutdown`]
//! (ready line and events on stdout; on SIGINT or SIGTERM, a graceful leave). For the HTTP
//! API next to it, start it with `shoal_http::start(Node::from_env())` instead of
//! `.start()`; `examples/embed/src/main.rs` is the whole program.
//!
//! ```no_run
//! # use shoal_node::actor::{Actor, ActorError, Ctx, Never};
//! # struct Greeter;
//! # impl Actor for Greeter {
//! #     type Msg = String;
//! #     type Call = Never;
//! #     type Reply = Never;
//! #     async fn handle(&mut self, _: &mut Ctx<Self>, _: String) -> Result<(), ActorError> { Ok(()) }
//! # }
//! # async fn service() -> Result<(), Box<dyn std::error::Error>> {
//! let node = shoal_node::Node::from_env().start().await?;
//! let greeter = node.actors().spawn(Greeter);
//! greeter.send("world".to_string())?;
//! node.run_until_shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Or configure it in code:
//!
//! ```no_run
//! # async fn demo() -> Result<(), shoal_node::NodeError> {
//! let node = shoal_node::Node::builder()
//!     .name("n1")
//!     .cookie("secret")
//!     .seeds(["127.0.0.1:7000"])
//!     .start()
//!     .await?;
//! for member in node.members() {
//!     println!("{} at {}", member.member.id, member.member.listen);
//! }
//! node.leave().await;
//! # Ok(()) }
//! ```

pub mod actor;
mod clock;
pub mod config;
pub mod discovery;
pub mod distributed;
pub mod error;
pub mod history;
pub mod metrics;
pub mod node;
mod node_event;
mod registry;
mod singleton;
mod snapshot;
mod split_brain;
mod stats;
mod throttle;
pub mod tls;

pub use clock::now_us;
pub use config::{AdminToken, DEFAULT_DISCOVERY_INTERVAL, DEFAULT_LINK_BUSY_LIMIT, NodeBuilder, NodeConfig};
pub use error::NodeError;
pub use node::{Node, NotReady};
pub use node_event::NodeEvent;
pub use shoal_proto::{DownReason, Event, Liveness, Member, MemberStatus, NodeId, NodeName};
pub use snapshot::Snapshot;
pub use stats::NodeStats;
