//! The ready line.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// What a node program prints once it listens, as the first line on stdout (and into
/// [`crate::env::READY_FILE`]): `{"event":"ready","name","creation","listen","http","pid","version"}`.
/// A launcher treats it as "serving". As a [`crate::Line`] it is [`crate::Line::Ready`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// Node name.
    pub name: String,
    /// Creation stamp: µs since the Unix epoch when this life started.
    pub creation: u64,
    /// Link and gossip address.
    pub listen: SocketAddr,
    /// HTTP address, if served.
    pub http: Option<SocketAddr>,
    /// OS process id.
    pub pid: u32,
    /// Build version.
    pub version: String,
}

impl Ready {
    /// The line as printed: one JSON object, keys sorted, no newline.
    pub fn to_line(&self) -> String {
        crate::Line::Ready(self.clone()).to_line()
    }
}
