//! Start Shoal nodes as real processes from tests and benchmarks.
//!
//! [`NodeProcess::spawn`] runs a binary that follows the node contract (ARCHITECTURE section
//! 9): it prints `{"event":"ready",...}` on stdout once it listens, then one JSON line per
//! membership event. Every process is killed when its handle drops, on every path.
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

mod http;
mod process;

pub use http::{http_get, http_post, http_request};
pub use process::{NodeProcess, Ready, wait_until};
