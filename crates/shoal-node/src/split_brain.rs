//! Runs the split-brain resolver ([`shoal_proto::split_brain`]) for the whole node and
//! publishes its [`Verdict`]; singletons and the distributed supervisor act on it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shoal_api::views::EventKind;
use shoal_proto::split_brain::{Resolver, STABLE_AFTER, Strategy};
use shoal_proto::{DownReason, Event, Member, NodeName};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::history::History;
use crate::node_event::NodeEvent;
use crate::snapshot::Snapshot;

/// How often the resolver looks again while nothing changes (a pending decision falls due).
const RECHECK: Duration = Duration::from_millis(250);

pub(crate) use shoal_proto::split_brain::Verdict;

/// The live members of `snapshot`, this node included.
pub(crate) fn live(snapshot: &Snapshot) -> Vec<&Member> {
    std::iter::once(&snapshot.local)
        .chain(snapshot.members.iter().map(|m| &m.member))
        .collect()
}

/// The names of [`live`] members.
pub(crate) fn view(snapshot: &Snapshot) -> BTreeSet<NodeName> {
    live(snapshot).into_iter().map(|m| m.id.name.clone()).collect()
}

/// Feeds every membership change (and a timer) to the resolver until `cancel`, publishing
/// each new verdict.
pub(crate) async fn run(
    strategy: Strategy,
    mut snapshot: watch::Receiver<Snapshot>,
    mut events: broadcast::Receiver<NodeEvent>,
    verdict: watch::Sender<Verdict>,
    history: Arc<History>,
    cancel: CancellationToken,
) {
    let mut resolver = Resolver::new(strategy, STABLE_AFTER);
    let mut ticks = tokio::time::interval(RECHECK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = {
            let view = snapshot.borrow_and_update();
            resolver.handle_view(Instant::now(), &live(&view));
            resolver.verdict()
        };
        verdict.send_if_modified(|old| {
            if old.isolated != next.isolated {
                let (reason, what) = if next.isolated {
                    (
                        "isolated",
                        "lost; stopping singletons and supervised children until the partition heals",
                    )
                } else {
                    ("runs_again", "runs the cluster again")
                };
                tracing::warn!(isolated = next.isolated, "split-brain resolver: this side {what}");
                let detail = format!("split-brain resolver: this side {what}");
                history.record(EventKind::SplitBrain, history.node(), Some(reason), detail);
            }
            let changed = *old != next;
            *old = next;
            changed
        });
        tokio::select! {
            () = cancel.cancelled() => return,
            changed = snapshot.changed() => if changed.is_err() { return },
            event = events.recv() => match event {
                Ok(NodeEvent {
                    event: Event::NodeDown { id, reason: DownReason::Left | DownReason::Crashed },
                    ..
                }) => resolver.handle_gone(&id.name),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = ticks.tick() => {}
        }
    }
}
