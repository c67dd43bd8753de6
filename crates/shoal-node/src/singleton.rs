//! Cluster singletons: an actor that runs once in the cluster, on the oldest member (of a role,
//! if given), and moves to the next oldest when that member goes.
//!
//! Every node declares the same singletons (like factories). Each node decides alone, from
//! its membership view, whether it is the leader for a role: the live member with the
//! smallest process creation (then name). The leader starts the singleton from its factory
//! and registers it under the singleton's name; a node that stops being the leader stops its
//! instance. The registry makes the answer one cluster-wide: a new leader waits until the old
//! instance's name is gone. After a partition the split-brain resolver
//! ([`shoal_proto::split_brain`]) isolates the losing side, which stops its singletons until
//! the partition heals; should both sides run one anyway (`DownAll` aside, a strategy that
//! keeps both), the registry's conflict rule stops one when it heals.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shoal_api::views::EventKind;
use shoal_proto::leader::{Growth, SETTLE_AFTER_GROWTH_MS, SingletonLook, SingletonStep};
use shoal_proto::{ExitReason, Member, NodeId};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::actor::{Actors, Fence, Pid};
use crate::snapshot::Snapshot;
use crate::split_brain::Verdict;

/// How often each node re-checks its singletons besides membership changes (a new leader
/// waiting for the old instance's name to go retries at this pace).
const RECHECK: Duration = Duration::from_millis(100);

/// One declared singleton.
#[derive(Clone, Debug)]
pub(crate) struct SingletonSpec {
    pub(crate) name: String,
    pub(crate) factory: String,
    pub(crate) args: Vec<u8>,
    pub(crate) role: Option<String>,
}

/// The singletons declared on this node and the instances it runs.
#[derive(Debug, Default)]
pub(crate) struct Singletons {
    specs: Mutex<Vec<SingletonSpec>>,
    changed: tokio::sync::Notify,
    /// Set by a graceful leave: this node stops its singletons and starts none, before its
    /// goodbye makes the next oldest member the leader.
    leaving: std::sync::atomic::AtomicBool,
}

impl Singletons {
    /// A graceful leave begins: stop every singleton here now, and start none again.
    pub(crate) fn leave(&self) {
        self.leaving.store(true, std::sync::atomic::Ordering::SeqCst);
        self.changed.notify_one();
    }

    pub(crate) fn declare(&self, spec: SingletonSpec) {
        let mut specs = self
            .specs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        specs.retain(|s| s.name != spec.name);
        specs.push(spec);
        drop(specs);
        self.changed.notify_one();
    }

    pub(crate) fn specs(&self) -> Vec<SingletonSpec> {
        self.specs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The leader for `role` in `snapshot`: the live member (this node included) with the
/// smallest process creation, then name, among those with the role. As process ids.
pub(crate) fn leader(snapshot: &Snapshot, role: Option<&str>) -> Option<NodeId> {
    let members = std::iter::once(&snapshot.local).chain(snapshot.members.iter().map(|m| &m.member));
    shoal_proto::leader::oldest(members, role).map(Member::process_id)
}

/// Runs until `cancel`: keeps this node's singleton instances in line with its leadership
/// and the split-brain verdict (an isolated side runs no singleton).
pub(crate) async fn run(
    actors: Actors,
    singletons: Arc<Singletons>,
    mut verdict: watch::Receiver<Verdict>,
    mut snapshot: watch::Receiver<Snapshot>,
    cancel: CancellationToken,
) {
    let mut running: BTreeMap<String, Pid> = BTreeMap::new();
    let mut growth = Growth::new(SETTLE_AFTER_GROWTH_MS);
    // This node's singleton lease (`shoal_proto::lease`): renewed by every look, it fences
    // every instance started here; once found lapsed it is replaced.
    let mut lease = Arc::new(Fence::default());
    let mut ticks = tokio::time::interval(RECHECK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            changed = snapshot.changed() => if changed.is_err() { return },
            changed = verdict.changed() => if changed.is_err() { return },
            () = singletons.changed.notified() => {}
            _ = ticks.tick(), if !running.is_empty() || !singletons.specs().is_empty() => {}
        }
        let view = snapshot.borrow().clone();
        let live = crate::split_brain::view(&view);
        let now_ms = crate::now_us() / 1000;
        let lapsed = lease.renew();
        if lapsed {
            lease = Arc::new(Fence::default());
            growth.restart(now_ms);
            tracing::warn!(
                "this process did not run for a while (stopped or starved): its singletons stop, and start again once its view settled"
            );
        }
        let settled = growth.settled(now_ms, &live);
        // A leaving node stands down like an isolated one.
        let (isolated, keeps) = {
            let verdict = verdict.borrow();
            (verdict.isolated, verdict.keeps_view(&live))
        };
        let side = Side {
            stand_down: isolated || singletons.leaving.load(std::sync::atomic::Ordering::SeqCst),
            keeps,
            settled,
            lapsed,
        };
        for spec in singletons.specs() {
            reconcile(&actors, &view, &spec, side, &lease, &mut running);
        }
    }
}

/// What holds for every singleton on this node in one look.
#[derive(Clone, Copy)]
struct Side {
    /// Isolated or leaving: run none.
    stand_down: bool,
    /// The resolver keeps the view (a new leader may start one).
    keeps: bool,
    /// No member joined lately.
    settled: bool,
    /// The singleton lease had lapsed.
    lapsed: bool,
}

/// Starts or stops this node's instance of `spec` as leadership says; a new instance is
/// fenced by `lease`.
fn reconcile(
    actors: &Actors,
    view: &Snapshot,
    spec: &SingletonSpec,
    side: Side,
    lease: &Arc<Fence>,
    running: &mut BTreeMap<String, Pid>,
) {
    if running
        .get(&spec.name)
        .is_some_and(|pid| actors.info(pid.id).is_none())
    {
        running.remove(&spec.name); // it stopped (crashed, or lost a name conflict)
    }
    let leads = leader(view, spec.role.as_deref()).as_ref() == Some(actors.node());
    let held_elsewhere = SingletonLook::held_elsewhere(actors.whereis(&spec.name).as_ref(), actors.node());
    let here = running.contains_key(&spec.name);
    let look = SingletonLook {
        leads,
        stand_down: side.stand_down,
        keeps: side.keeps,
        running_here: here,
        settled: side.settled,
        held_elsewhere,
        lapsed: side.lapsed,
    };
    match look.step() {
        SingletonStep::Start => match actors.spawn_factory(&spec.factory, &spec.args) {
            Ok(pid) => match fence_and_register(actors, &pid, spec, lease) {
                Ok(()) => {
                    tracing::info!(singleton = %spec.name, %pid, "started the singleton here (oldest member)");
                    let detail = format!("{} started here as {pid} (this node leads)", spec.name);
                    actors
                        .history()
                        .record(EventKind::SingletonStarted, spec.name.clone(), None, detail);
                    running.insert(spec.name.clone(), pid);
                }
                Err(e) => {
                    tracing::debug!(singleton = %spec.name, "not yet: {e}");
                    let _ = actors.stop(&pid, ExitReason::Shutdown);
                }
            },
            Err(e) => {
                tracing::warn!(singleton = %spec.name, factory = %spec.factory, "cannot start: {e}")
            }
        },
        SingletonStep::Stop => {
            if let Some(pid) = running.remove(&spec.name) {
                tracing::info!(singleton = %spec.name, %pid, stand_down = side.stand_down, "stopping the singleton here: this node does not lead, or is isolated or leaving");
                let why = if side.stand_down {
                    "this node is isolated or leaving"
                } else {
                    "another node leads"
                };
                let detail = format!("{} ({pid}) stops here: {why}", spec.name);
                actors
                    .history()
                    .record(EventKind::SingletonStopped, spec.name.clone(), None, detail);
                let _ = actors.stop(&pid, ExitReason::Shutdown);
            }
        }
        SingletonStep::Keep => {}
    }
}

/// Fences a new instance by this node's lease, then registers it under the singleton's name.
fn fence_and_register(
    actors: &Actors,
    pid: &Pid,
    spec: &SingletonSpec,
    lease: &Arc<Fence>,
) -> Result<(), shoal_proto::registry::RegisterError> {
    actors.fence(pid, lease.clone());
    actors.register(&spec.name, pid)
}
