//! Discovery proposes addresses to join through; it never removes a live member.
//!
//! Strategies: static seeds (`host:port`, resolved on every round so DNS changes are seen) and
//! `local`: every node on this host writes `<dir>/<cookie fingerprint>/<name>.json` and reads
//! its neighbours' files. Files of processes that no longer exist are ignored and removed. The
//! fingerprint keeps clusters with different cookies apart without revealing the cookie.

mod local;

use std::net::SocketAddr;
use std::time::Duration;

use shoal_proto::Member;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

pub use self::local::{LocalDirectory, LocalEntry};
use crate::config::NodeConfig;
use crate::error::NodeError;
use crate::node::Input;
use crate::node::Snapshot;

/// How often discovery runs while the node knows no peer.
const ALONE_INTERVAL: Duration = Duration::from_millis(50);
/// How often discovery runs once the node has peers (finds nodes that started apart).
const JOINED_INTERVAL: Duration = Duration::from_secs(2);

/// The discovery strategies of one node.
pub(crate) struct Discovery {
    seeds: Vec<String>,
    local: Option<LocalDirectory>,
}

impl Discovery {
    pub(crate) fn new(config: &NodeConfig, local: &Member) -> Result<Self, NodeError> {
        let local = match &config.local_dir {
            Some(dir) => Some(LocalDirectory::register(dir, &config.cookie, local)?),
            None => None,
        };
        Ok(Self {
            seeds: config.seeds.clone(),
            local,
        })
    }

    /// Proposes addresses at once, then every round, until cancelled. Removes this node's
    /// local entry on the way out.
    pub(crate) async fn run(
        self,
        inputs: mpsc::UnboundedSender<Input>,
        snapshot: watch::Receiver<Snapshot>,
        cancel: CancellationToken,
    ) {
        loop {
            let addrs = self.round().await;
            if !addrs.is_empty() && inputs.send(Input::Propose(addrs)).is_err() {
                break;
            }
            let alone = snapshot.borrow().members.is_empty();
            let pause = if alone { ALONE_INTERVAL } else { JOINED_INTERVAL };
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        if let Some(local) = &self.local {
            local.unregister();
        }
    }

    async fn round(&self) -> Vec<SocketAddr> {
        let mut addrs = Vec::new();
        for seed in &self.seeds {
            match tokio::net::lookup_host(seed.as_str()).await {
                Ok(resolved) => addrs.extend(resolved),
                Err(e) => tracing::debug!(%seed, error = %e, "seed does not resolve"),
            }
        }
        if let Some(local) = &self.local {
            addrs.extend(local.neighbours().into_iter().map(|e| e.listen));
        }
        addrs.sort();
        addrs.dedup();
        addrs
    }
}
