//! The tokio driver of a Shoal node: TCP links, UDP gossip, discovery, and the [`Node`] handle.
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
pub mod config;
pub mod discovery;
pub mod distributed;
pub mod error;
pub mod node;
mod singleton;
mod split_brain;

pub use config::{DEFAULT_LINK_BUSY_LIMIT, NodeBuilder, NodeConfig};
pub use error::NodeError;
pub use node::{Node, NodeEvent, NodeStats, Snapshot, now_us};
pub use shoal_proto::{DownReason, Event, Liveness, Member, MemberStatus, NodeId, NodeName};
