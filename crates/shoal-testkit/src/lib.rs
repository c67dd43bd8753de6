//! Start Shoal clusters from tests: [`TestCluster`] (in-process nodes, or real processes of a
//! binary) with fault injection, [`NodeProcess`] for one node process, and [`chaos`], a
//! fault-injection harness with a seeded schedule, a recorded history and a checker of the
//! README's guarantees (`shoal chaos run`).
//!
//! A complete test: three in-process nodes, split one off, watch the others see it go, heal.
//!
//! ```
//! use std::time::Duration;
//! use shoal_testkit::TestCluster;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let cluster = TestCluster::builder().size(3).start().await.unwrap();
//! let names = cluster.names();
//!
//! cluster.partition(&[&[0, 1], &[2]]).unwrap();
//! let split = cluster
//!     .wait_until(Duration::from_secs(20), |c| c.nodes()[0].alive_members().len() == 2)
//!     .await;
//! assert!(split, "{} never saw {} go", names[0], names[2]);
//!
//! cluster.heal().unwrap();
//! assert!(cluster.wait_until(Duration::from_secs(20), TestCluster::is_formed).await);
//! # });
//! ```
//!
//! `TestCluster::builder().binary(env!("CARGO_BIN_EXE_shoal"))` runs the same test over real
//! `shoal node` processes (SIGKILL / SIGSTOP for `kill` / `pause`, the nodes' `/api/chaos`
//! for partitions).
//!
//! [`NodeProcess::spawn`] runs a binary that follows the node contract (as
//! [`shoal_node::Node::run_until_shutdown`] does): it prints `{"event":"ready",...}` on stdout
//! once it listens, then one JSON line per membership event. Every process is killed when its handle drops, on every path.
//!
//! ```no_run
//! use std::time::Duration;
//! use shoal_testkit::NodeProcess;
//!
//! // In the shoal-cli crate's own tests this is `env!("CARGO_BIN_EXE_shoal")`.
//! let bin = std::path::Path::new("target/release/shoal");
//! let n1 = NodeProcess::spawn(bin, "n1", &["--cookie", "k"]).unwrap();
//! let seed = n1.ready.listen.to_string();
//! let n2 = NodeProcess::spawn(bin, "n2", &["--cookie", "k", "--seeds", &seed]).unwrap();
//! n1.wait_event(|e| e["event"] == "node_up" && e["node"] == "n2", Duration::from_secs(10)).unwrap();
//! ```

pub mod chaos;
mod cluster;
mod http;
mod process;

pub use cluster::{TestCluster, TestClusterBuilder, TestNode};
pub use http::{http_get, http_post, http_request, http_request_with_body};
pub use process::{NodeProcess, Ready, wait_until};
