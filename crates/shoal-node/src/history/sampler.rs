//! The sampler: one [`Sample`] of the node's figures a second, into its [`History`].

use std::sync::Arc;
use std::time::Duration;

use shoal_api::views::{EventKind, PeerSample, Sample};
use shoal_proto::Liveness;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::History;
use crate::Snapshot;
use crate::actor::Actors;
use crate::node::PeerTable;

/// How often the sampler takes a sample.
pub(crate) const EVERY: Duration = Duration::from_secs(1);

/// Takes a sample every second until `cancel`, and prunes the per-peer link counters of
/// peers no longer members ([`PeerTable::prune`]). A sample reads the membership snapshot,
/// sums the actors' handled counters and reads the process's CPU time and RSS: tens of
/// microseconds with 10,000 actors.
pub(crate) async fn run(
    history: Arc<History>,
    actors: Actors,
    peers: Arc<PeerTable>,
    snapshot: watch::Receiver<Snapshot>,
    cancel: CancellationToken,
) {
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let snap = snapshot.borrow();
        history.push_sample(take(&history, &actors, &peers, &snap));
        // Counters of peers that left and no link holds go here, not only when scraped.
        peers.prune(|name| snap.members.iter().any(|m| m.member.id.name == *name));
        drop(snap);
    }
}

/// One sample of the node as it is now.
fn take(history: &History, actors: &Actors, links: &PeerTable, snapshot: &Snapshot) -> Sample {
    let suspect = snapshot
        .members
        .iter()
        .filter(|m| m.liveness == Liveness::Suspect)
        .count();
    let peers = snapshot
        .members
        .iter()
        .map(|m| PeerSample {
            node: m.member.id.name.to_string(),
            rtt_us: m.rtt.map(|d| d.as_micros() as u64),
            bytes_sent: links.bytes_out(&m.member.id.name),
        })
        .collect();
    Sample {
        at_ms: crate::now_us() / 1000,
        members_alive: (1 + snapshot.members.len() - suspect) as u32,
        members_suspect: suspect as u32,
        actors: actors.count() as u64,
        messages_handled: actors.cells().handled_total(),
        cpu_ms: cpu_ms(),
        rss_bytes: rss_bytes(),
        restarts: history.count(EventKind::Restart, None)
            + history.count(EventKind::ChildStarted, Some("restarted")),
        failovers: history.count(EventKind::ChildStarted, Some("failed_over")),
        peers,
    }
}

/// User plus system CPU time of this process, in ms.
fn cpu_ms() -> Option<u64> {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let us = |t: nix::sys::time::TimeVal| t.tv_sec() as u64 * 1_000_000 + t.tv_usec() as u64;
    Some((us(usage.user_time()) + us(usage.system_time())) / 1000)
}

/// Resident memory of this process (Linux: `VmRSS` of /proc/self/status).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
