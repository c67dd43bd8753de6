//! Discovery proposes addresses to join through; it never removes a live member.
//!
//! Strategies, combinable: static seeds (`host:port`, resolved on every round so DNS changes
//! are seen); `local`: every node on this host writes `<dir>/<cookie fingerprint>/<name>.json`
//! and reads its neighbours' files (files of processes that no longer exist are ignored and
//! removed; the fingerprint keeps clusters with different cookies apart without revealing the
//! cookie); `dns:NAME:PORT` and `dns-srv:NAME` ([`DnsQuery`]): a name's A/AAAA or SRV records,
//! looked up every [`NodeConfig::discovery_interval`] (±20%); `multicast[:GROUP:PORT]`
//! ([`MulticastDiscovery`]): signed beacons sent to an IPv4 multicast group every interval
//! (±20%), each beacon of the cluster heard proposing its sender ([`Beacons`]).
//!
//! Every round proposes the union of what each strategy last found; the driver dials those
//! it has no link to. A name that answers with fewer hosts only proposes fewer: discovery has
//! no way to remove anyone, membership alone decides who is down. [`DiscoveryState`] records
//! each strategy's last lookup and each candidate's last outcome for `GET /api/discovery`.

mod beacons;
mod dns;
mod jitter;
mod local;
mod multicast;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shoal_api::views::{CandidateOutcome, DiscoveryView};
use shoal_proto::Member;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

pub use self::beacons::{Beacons, Heard};
pub use self::dns::DnsQuery;
use self::dns::DnsResolver;
use self::jitter::jittered;
pub use self::local::{LocalDirectory, LocalEntry};
use self::multicast::MulticastTask;
pub use self::multicast::{DEFAULT_GROUP, DEFAULT_TTL, MulticastDiscovery};
pub use self::state::{DiscoveryState, MAX_CANDIDATES};
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

/// The discovery state shared by the discovery task (lookups), the driver (outcomes of
/// dials), the `Node` handle (the view) and the metrics (beacon counts).
#[derive(Clone, Debug, Default)]
pub(crate) struct SharedDiscovery {
    state: Arc<Mutex<DiscoveryState>>,
    /// Multicast discovery's state, when it runs.
    beacons: Option<Arc<Mutex<Beacons>>>,
}

impl SharedDiscovery {
    /// Records the outcome of a dial through `addr` (see [`DiscoveryState::handle_outcome`]).
    pub(crate) fn handle_outcome(&self, addr: SocketAddr, outcome: CandidateOutcome) {
        if let Ok(mut state) = self.state.lock() {
            state.handle_outcome(now_ms(), addr, outcome);
        }
    }

    /// What discovery knows now.
    pub(crate) fn view(&self) -> DiscoveryView {
        let mut view = self.state.lock().map(|s| s.view()).unwrap_or_default();
        view.multicast = self
            .beacons
            .as_ref()
            .and_then(|b| b.lock().ok().map(|b| b.view()));
        view
    }

    /// Beacons accepted and ignored so far (0 and 0 without multicast discovery).
    pub(crate) fn beacon_counts(&self) -> (u64, u64) {
        self.beacons
            .as_ref()
            .and_then(|b| b.lock().ok().map(|b| b.view()))
            .map_or((0, 0), |v| (v.accepted, v.ignored))
    }

    fn handle_lookup(&self, strategy: &str, result: Result<Vec<SocketAddr>, String>) -> Vec<SocketAddr> {
        match self.state.lock() {
            Ok(mut state) => state.handle_lookup(now_ms(), strategy, result),
            Err(_) => result.unwrap_or_default(),
        }
    }
}

fn now_ms() -> u64 {
    crate::now_us() / 1000
}

/// One DNS strategy: its query, what it last found and when it is due again.
struct DnsStrategy {
    query: DnsQuery,
    label: String,
    found: Vec<SocketAddr>,
    due: Instant,
}

/// The discovery strategies of one node.
pub(crate) struct Discovery {
    seeds: Vec<String>,
    local: Option<LocalDirectory>,
    dns: Vec<DnsStrategy>,
    /// Multicast discovery's task, until `run` starts it.
    multicast: Option<MulticastTask>,
    /// Multicast discovery's label, `multicast:GROUP:PORT` (empty when it is off).
    multicast_label: String,
    /// Woken when a beacon announces a new address: the next round starts at once.
    wake: Arc<Notify>,
    /// An error when there is no DNS strategy, or the resolver could not start (then each
    /// DNS strategy shows the error).
    resolver: Result<DnsResolver, String>,
    interval: Duration,
    own_listen: SocketAddr,
    state: SharedDiscovery,
    /// One warning per seed problem every few seconds, with a count of the rest.
    warnings: Throttle,
}

impl Discovery {
    pub(crate) fn new(config: &NodeConfig, local: &Member) -> Result<Self, NodeError> {
        let local_dir = match &config.local_dir {
            Some(dir) => Some(LocalDirectory::register(dir, &config.cookie, local)?),
            None => None,
        };
        let now = Instant::now();
        let dns: Vec<DnsStrategy> = config
            .dns
            .iter()
            .map(|query| DnsStrategy {
                label: query.label(),
                query: query.clone(),
                found: Vec::new(),
                due: now,
            })
            .collect();
        let mut labels = Vec::new();
        if !config.seeds.is_empty() {
            labels.push("static".to_string());
        }
        if local_dir.is_some() {
            labels.push("local".to_string());
        }
        labels.extend(dns.iter().map(|d| d.label.clone()));
        let wake = Arc::new(Notify::new());
        let mut state = SharedDiscovery::default();
        let multicast = match config.multicast {
            Some(mc) => {
                let task = MulticastTask::new(
                    mc,
                    local,
                    config.cookie.clone(),
                    config.discovery_interval,
                    wake.clone(),
                )
                .map_err(|fix| shoal_proto::ConfigError::invalid("discovery", &mc.label(), &fix))?;
                state.beacons = Some(task.beacons.clone());
                labels.push(mc.label());
                Some(task)
            }
            None => None,
        };
        state.state = Arc::new(Mutex::new(DiscoveryState::new(labels)));
        let resolver = match dns.is_empty() {
            true => Err("no DNS strategy".to_string()),
            false => DnsResolver::from_system(),
        };
        Ok(Self {
            seeds: config.seeds.clone(),
            local: local_dir,
            dns,
            multicast_label: config.multicast.map(|m| m.label()).unwrap_or_default(),
            multicast,
            wake,
            resolver,
            interval: config.discovery_interval,
            own_listen: local.listen,
            state,
            warnings: Throttle::new(SEED_WARNING_EVERY),
        })
    }

    /// The state this discovery records into.
    pub(crate) fn state(&self) -> SharedDiscovery {
        self.state.clone()
    }

    /// Hands `propose` each round's addresses, at once and then every round, until cancelled
    /// or `propose` returns false (the node's driver is gone), while multicast discovery, if
    /// on, sends and reads beacons beside it (and stops with it). Removes this node's local
    /// entry on the way out.
    pub(crate) async fn run(
        mut self,
        propose: impl Fn(Vec<SocketAddr>) -> bool,
        snapshot: watch::Receiver<Snapshot>,
        cancel: CancellationToken,
    ) {
        let stop = cancel.child_token();
        let multicast = self.multicast.take();
        let beacons = async {
            if let Some(task) = multicast {
                task.run(stop.clone()).await;
            }
        };
        let rounds = async {
            self.rounds(propose, snapshot, &cancel).await;
            stop.cancel();
        };
        tokio::join!(rounds, beacons);
        if let Some(local) = &self.local {
            local.unregister();
        }
    }

    async fn rounds(
        &mut self,
        propose: impl Fn(Vec<SocketAddr>) -> bool,
        snapshot: watch::Receiver<Snapshot>,
        cancel: &CancellationToken,
    ) {
        let mut rounds_alone = 0u32;
        loop {
            let mut addrs = self.round().await;
            // A resolver that does not answer must not hold up a stop.
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.poll_dns() => {}
            }
            addrs.extend(self.dns.iter().flat_map(|d| d.found.iter().copied()));
            addrs.sort();
            addrs.dedup();
            // Sent when empty too: a first round that finds nobody tells the driver that
            // this node is alone, not still joining.
            if !propose(addrs) {
                break;
            }
            let alone = snapshot.borrow().members.is_empty();
            rounds_alone = if alone { rounds_alone.saturating_add(1) } else { 0 };
            let mut pause = pause_after(rounds_alone);
            if let Some(due) = self.dns.iter().map(|d| d.due).min() {
                pause = pause.min(due.saturating_duration_since(Instant::now()));
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
                () = self.wake.notified() => {}
            }
        }
    }

    /// Looks up every DNS name that is due, and records what it found.
    async fn poll_dns(&mut self) {
        for strategy in &mut self.dns {
            if strategy.due > Instant::now() {
                continue;
            }
            let result = match &self.resolver {
                Ok(resolver) => resolver.lookup(&strategy.query).await,
                Err(e) => Err(e.clone()),
            };
            if let Err(e) = &result
                && let Some(held) = self.warnings.allow()
            {
                tracing::warn!(strategy = %strategy.label, "DNS discovery lookup failed: {e}; retrying ({held} similar warnings held back)");
            }
            // A failed lookup keeps the last answer: a resolver that is down for a moment
            // should not stop the proposals (they never remove anyone anyway).
            if result.is_ok() {
                strategy.found = self.state.handle_lookup(&strategy.label, result);
            } else {
                self.state.handle_lookup(&strategy.label, result);
            }
            if strategy.found.contains(&self.own_listen) {
                self.state
                    .handle_outcome(self.own_listen, CandidateOutcome::Itself);
            }
            strategy.due = Instant::now() + jittered(self.interval, rand::random::<u64>());
        }
    }

    async fn round(&self) -> Vec<SocketAddr> {
        let mut addrs = Vec::new();
        let mut errors = Vec::new();
        for seed in &self.seeds {
            match tokio::net::lookup_host(seed.as_str()).await {
                Ok(resolved) => addrs.extend(resolved),
                Err(e) => {
                    errors.push(format!("{seed}: {e}"));
                    if let Some(held) = self.warnings.allow() {
                        tracing::warn!(%seed, "seed does not resolve: {e}; retrying with backoff ({held} similar warnings held back)");
                    }
                }
            }
        }
        if !self.seeds.is_empty() {
            let result = match (addrs.is_empty(), errors.is_empty()) {
                (true, false) => Err(errors.join("; ")),
                _ => Ok(addrs.clone()),
            };
            self.state.handle_lookup("static", result);
        }
        if let Some(local) = &self.local {
            let found: Vec<SocketAddr> = local.neighbours().into_iter().map(|e| e.listen).collect();
            addrs.extend(self.state.handle_lookup("local", Ok(found)));
        }
        if let Some(beacons) = &self.state.beacons {
            let label = self.multicast_label.as_str();
            let found = beacons
                .lock()
                .map_or_else(|_| Ok(Vec::new()), |mut b| b.found(now_ms()));
            addrs.extend(self.state.handle_lookup(label, found));
        }
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
