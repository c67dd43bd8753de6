//! The one typed contract between a Shoal node and what talks to it: the node itself, its
//! HTTP server (`shoal-http`), the `shoal` command, the test kit and any dashboard.
//!
//! | module | what it fixes |
//! |---|---|
//! | [`env`](mod@env) | the `SHOAL_*` launch variables a launcher sets and `Node::from_env()` reads |
//! | [`Ready`], [`Line`] | the JSON lines a node program prints on stdout: one `ready` line, then one per membership event |
//! | [`views`] | every JSON answer of the HTTP API, `Serialize` for the server, `Deserialize` for clients |
//! | [`ErrorBody`] | the one shape of every HTTP error: `{"error": "..."}` |
//! | [`client`] | a small blocking HTTP/1.1 client for loopback JSON, typed reads, and [`fan_out`] over many nodes |
//! | [`Feed`] | reading a node's live dashboard feed, tick by tick |
//! | [`wait_until`] | polling a condition with a deadline |
//!
//! It depends on serde and serde_json only, so a tool can speak to nodes without linking
//! the node. Field names are the contract: they are added, never renamed.
//!
//! ```
//! use shoal_api::Line;
//!
//! let line = r#"{"event":"node_down","node":"n2","creation":7,"reason":"Left","at_us":9}"#;
//! let Ok(Line::NodeDown { node, reason, .. }) = serde_json::from_str(line) else { panic!() };
//! assert_eq!((node.as_str(), reason.as_str()), ("n2", "Left"));
//! ```

pub mod client;
pub mod env;
mod error;
mod fanout;
mod feed;
mod line;
mod ready;
pub mod views;
mod wait;

pub use client::{Failure, http_get, http_post, http_request, http_request_with_body};
pub use error::ErrorBody;
pub use fanout::fan_out;
pub use feed::{Feed, Tick};
pub use line::Line;
pub use ready::Ready;
pub use wait::wait_until;
