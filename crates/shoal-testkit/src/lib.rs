//! Start Shoal clusters from tests: [`TestCluster`] (in-process nodes, or real processes of a
//! binary) with fault injection, plus everything a test needs to drive node processes.
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
//! [`NodeProcess`] (one node process), [`chaos`] (the fault-injection harness), the HTTP
//! client functions and [`wait_until`] live in `shoal-harness` and `shoal-api`, which the
//! `shoal` command uses too; they are re-exported here so a test needs this crate only.

mod cluster;

pub use cluster::{TestCluster, TestClusterBuilder, TestNode};
pub use shoal_api::{http_get, http_post, http_request, http_request_with_body, wait_until};
pub use shoal_harness::{NodeProcess, Ready, chaos};
