//! `Fence`: a lease that an actor needs to act. A fenced actor handles nothing, and is not
//! found by pid or listed, once its fence lapsed; the first such touch stops it (with
//! `Shutdown`). A fence that lapsed stays lapsed: its holder takes a new one, for new actors
//! only. Singleton instances are fenced by their node's singleton lease
//! ([`shoal_proto::lease`]), so an instance of a process that was stopped long enough to be
//! replaced elsewhere does not act when the process runs again.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use shoal_proto::lease::Lease;

/// A lease shared by its holder (which renews it) and the cells it fences (which check it).
#[derive(Debug)]
pub(crate) struct Fence {
    /// [`Lease::renewed_ms`] on [`now_ms`]'s clock.
    renewed_ms: AtomicU64,
    /// Set when a renewal found the lease lapsed: it never holds again.
    revoked: AtomicBool,
}

impl Default for Fence {
    /// A lease renewed now.
    fn default() -> Self {
        Self {
            renewed_ms: AtomicU64::new(now_ms()),
            revoked: AtomicBool::new(false),
        }
    }
}

impl Fence {
    /// Renews the lease now; returns whether it had lapsed ([`Lease::renew`]). A lapsed
    /// fence is revoked instead: the actors it fences never act again, and the holder takes a
    /// new fence for the actors it starts from now on.
    pub(crate) fn renew(&self) -> bool {
        let mut lease = Lease::renewed_at(self.renewed_ms.load(Ordering::Acquire));
        if self.revoked.load(Ordering::Acquire) || lease.renew(now_ms()) {
            self.revoked.store(true, Ordering::Release);
            return true;
        }
        self.renewed_ms.fetch_max(lease.renewed_ms(), Ordering::AcqRel);
        false
    }

    /// Whether the lease holds now (and was never found lapsed).
    pub(crate) fn holds(&self) -> bool {
        !self.revoked.load(Ordering::Acquire)
            && Lease::renewed_at(self.renewed_ms.load(Ordering::Acquire)).holds(now_ms())
    }

    /// A fence that never holds.
    #[cfg(test)]
    pub(crate) fn revoked() -> Self {
        let fence = Self::default();
        fence.revoked.store(true, Ordering::Release);
        fence
    }
}

/// Milliseconds on a monotonic clock that goes on while the process is stopped (Linux's
/// `CLOCK_MONOTONIC`), from the first call in this process.
fn now_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::Fence;
    use crate::actor::{
        Actor, ActorError, Actors, Counter, CounterArgs, CounterGet, CounterMsg, Ctx, ExitReason, Never,
        SendError,
    };

    /// Records whether its `stopping` hook ran.
    struct Hooked(Arc<AtomicBool>);

    impl Actor for Hooked {
        type Msg = ();
        type Call = Never;
        type Reply = Never;

        async fn handle(&mut self, _: &mut Ctx<Self>, (): ()) -> Result<(), ActorError> {
            Ok(())
        }

        async fn stopping(&mut self, _: &mut Ctx<Self>, _: &ExitReason) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn an_actor_stopped_by_a_lapsed_fence_does_not_run_its_stopping_hook() {
        let actors = Actors::standalone(shoal_proto::NodeName::new("n1").unwrap());
        let (fenced_ran, plain_ran) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let fenced = actors.spawn(Hooked(fenced_ran.clone()));
        let plain = actors.spawn(Hooked(plain_ran.clone()));
        let (fenced_down, plain_down) = (actors.monitor(fenced.pid()), actors.monitor(plain.pid()));
        fenced.cell.set_fence(Arc::new(Fence::revoked()));
        // The first touch finds the fence lapsed and halts the actor.
        assert!(actors.info(fenced.pid().id).is_none());
        actors.stop(plain.pid(), ExitReason::Shutdown).unwrap();
        assert_eq!(fenced_down.await, ExitReason::Shutdown);
        assert_eq!(plain_down.await, ExitReason::Shutdown);
        assert!(plain_ran.load(Ordering::SeqCst), "a plain stop runs the hook");
        assert!(
            !fenced_ran.load(Ordering::SeqCst),
            "the fenced instance acted after its lease lapsed"
        );
    }

    #[test]
    fn a_fence_holds_until_revoked_and_a_revoked_fence_never_holds_again() {
        let fence = Fence::default();
        assert!(fence.holds());
        assert!(!fence.renew(), "renewed at once: it had not lapsed");
        let revoked = Fence::revoked();
        assert!(!revoked.holds());
        assert!(revoked.renew(), "a revoked fence reports a lapse");
        assert!(!revoked.holds(), "and stays revoked");
    }

    #[tokio::test]
    async fn an_actor_whose_fence_lapsed_is_not_found_nor_listed_and_stops_at_the_first_touch() {
        let actors = Actors::standalone(shoal_proto::NodeName::new("n1").unwrap());
        let counter = actors.spawn(Counter::new(CounterArgs::default(), Some(5)));
        let pid = counter.pid().clone();
        actors.fence(&pid, Arc::new(Fence::default()));
        let seen: u64 = actors
            .call(&pid, CounterGet, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(seen, 5, "a fence that holds changes nothing");

        let other = actors.spawn(Counter::new(CounterArgs::default(), None));
        let down = actors.monitor(other.pid());
        other.cell.set_fence(Arc::new(Fence::revoked()));
        assert!(!actors.list().iter().any(|a| a.pid == *other.pid()), "listed");
        assert!(matches!(
            actors.send(other.pid(), CounterMsg::Add(1)),
            Err(SendError::NoProc)
        ));
        assert_eq!(down.await, ExitReason::Shutdown);
        assert!(actors.info(pid.id).is_some(), "the unfenced counter runs on");
    }
}
