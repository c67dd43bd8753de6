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
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use self::local::{LocalDirectory, LocalEntry};
use crate::config::NodeConfig;
use crate::error::NodeError;
use crate::snapshot::Snapshot;
use crate::throttle::Throttle;

/// How soon discovery runs again while the node knows no peer; the pause doubles with every
/// round that finds nobody, up to [`JOINED_INTERVAL`], so seeds that do not resolve or refuse
/// are not tried (and looked up) 20 times a second for ever.
const ALONE_INTERVAL: Duration = Duration::from_millis(50);
/// How often discovery runs once the node has peers (finds nodes that started apart).
const JOINED_INTERVAL: Duration = Duration::from_secs(2);

/// The discovery strategies of one node.
pub(crate) struct Discovery {
    seeds: Vec<String>,
    local: Option<LocalDirectory>,
    /// One warning per seed problem every few seconds, with a count of the rest.
    warnings: Throttle,
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
            warnings: Throttle::new(SEED_WARNING_EVERY),
        })
    }

    /// Hands `propose` each round's addresses, at once and then every round, until cancelled
    /// or `propose` returns false (the node's driver is gone). Removes this node's local entry
    /// on the way out.
    pub(crate) async fn run(
        self,
        propose: impl Fn(Vec<SocketAddr>) -> bool,
        snapshot: watch::Receiver<Snapshot>,
        cancel: CancellationToken,
    ) {
        let mut rounds_alone = 0u32;
        loop {
            let addrs = self.round().await;
            // Sent when empty too: a first round that finds nobody tells the driver that
            // this node is alone, not still joining.
            if !propose(addrs) {
                break;
            }
            let alone = snapshot.borrow().members.is_empty();
            rounds_alone = if alone { rounds_alone.saturating_add(1) } else { 0 };
            let pause = pause_after(rounds_alone);
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
                Err(e) => {
                    if let Some(held) = self.warnings.allow() {
                        tracing::warn!(%seed, "seed does not resolve: {e}; retrying with backoff ({held} similar warnings held back)");
                    }
                }
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

/// How often seed warnings are logged at most.
const SEED_WARNING_EVERY: Duration = Duration::from_secs(10);

/// The pause after the `rounds_alone`-th round in a row that left the node alone (0: it has
/// peers): 50 ms, doubling to 2 s.
fn pause_after(rounds_alone: u32) -> Duration {
    if rounds_alone == 0 {
        return JOINED_INTERVAL;
    }
    ALONE_INTERVAL
        .saturating_mul(1 << (rounds_alone - 1).min(16))
        .min(JOINED_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_alone_backs_off_from_50_ms_to_2_s() {
        let pauses: Vec<u128> = (1..=8).map(|r| pause_after(r).as_millis()).collect();
        assert_eq!(pauses, [50, 100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(pause_after(u32::MAX), JOINED_INTERVAL);
        assert_eq!(pause_after(0), JOINED_INTERVAL);
    }
}
