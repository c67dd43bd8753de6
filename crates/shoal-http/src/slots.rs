//! The table of open HTTP connections: who gets in at the cap, and who makes room.
//!
//! Rules, checked on every accepted connection:
//! 1. Below the cap, the connection gets a slot.
//! 2. At the cap, the oldest idle connection (no request in flight; this includes one that
//!    has not finished sending its first request head) is told to close, and the new one
//!    gets a slot. nginx does the same when it runs short of connections: it closes idle
//!    keep-alive connections first. A client that sends its request at once is then served
//!    even while the cap is full of connections that send nothing.
//! 3. At the cap with no idle connection, or while as many connections are still closing as
//!    the cap, the new connection is refused.
//!
//! So at most twice the cap are ever open, and only while evicted connections finish closing
//! (their tasks end at their next poll).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

/// The open connections, oldest first.
#[derive(Debug)]
pub(crate) struct Slots {
    cap: usize,
    inner: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    open: BTreeMap<u64, Arc<SlotState>>,
}

/// What one connection shares with the table.
#[derive(Debug, Default)]
struct SlotState {
    /// Requests in flight on the connection.
    busy: AtomicUsize,
    /// Cancelled when the table evicts the connection.
    evict: CancellationToken,
}

/// One admitted connection's place in the table; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct Slot {
    id: u64,
    state: Arc<SlotState>,
    slots: Arc<Slots>,
}

/// Marks a request in flight on its connection while it lives.
#[derive(Debug)]
pub(crate) struct Busy(Arc<SlotState>);

/// The answer to an accepted connection.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Serve it. `evicted` says whether an idle connection was told to close for it.
    Admitted { slot: Slot, evicted: bool },
    /// Refuse it (rule 3).
    Full,
}

impl Slots {
    /// A table admitting `cap` connections (rule 1).
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            inner: Mutex::new(Table::default()),
        })
    }

    /// Applies the rules to a newly accepted connection.
    pub(crate) fn admit(self: &Arc<Self>) -> Admission {
        let mut table = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let closing = table.open.values().filter(|s| s.evict.is_cancelled()).count();
        let live = table.open.len() - closing;
        let mut evicted = false;
        if live >= self.cap {
            let oldest_idle = table
                .open
                .values()
                .find(|s| s.busy.load(Ordering::Acquire) == 0 && !s.evict.is_cancelled());
            match oldest_idle {
                Some(victim) if closing < self.cap => {
                    victim.evict.cancel();
                    evicted = true;
                }
                _ => return Admission::Full,
            }
        }
        let id = table.next_id;
        table.next_id += 1;
        let state = Arc::new(SlotState::default());
        table.open.insert(id, state.clone());
        Admission::Admitted {
            slot: Slot {
                id,
                state,
                slots: self.clone(),
            },
            evicted,
        }
    }

    /// Connections holding a slot now (closing ones included).
    #[cfg(test)]
    fn open(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .open
            .len()
    }
}

impl Slot {
    /// Resolves when the table asks this connection to close.
    pub(crate) async fn evicted(&self) {
        self.state.evict.cancelled().await;
    }

    /// Whether no request is in flight (a half-sent request head counts as none).
    pub(crate) fn is_idle(&self) -> bool {
        self.state.busy.load(Ordering::Acquire) == 0
    }

    /// Marks a request in flight until the returned guard drops.
    pub(crate) fn busy(&self) -> Busy {
        self.state.busy.fetch_add(1, Ordering::AcqRel);
        Busy(self.state.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.slots.inner.lock().unwrap_or_else(PoisonError::into_inner);
        table.open.remove(&self.id);
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::{Admission, Slot, Slots};

    fn admitted(admission: Admission) -> (Slot, bool) {
        match admission {
            Admission::Admitted { slot, evicted } => (slot, evicted),
            Admission::Full => panic!("refused below the cap or with an idle connection"),
        }
    }

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let slots = Slots::new(2);
        let (first, _) = admitted(slots.admit());
        let (second, _) = admitted(slots.admit());
        let _request = first.busy();
        let (_third, evicted) = admitted(slots.admit());
        assert!(evicted);
        assert!(
            second.state.evict.is_cancelled(),
            "the idle one goes, not the busy one"
        );
        assert!(!first.state.evict.is_cancelled());
        assert_eq!(slots.open(), 3, "the evicted one holds its slot until it closes");
        drop(second);
        assert_eq!(slots.open(), 2);
    }

    #[test]
    fn at_the_cap_with_every_connection_busy_a_new_one_is_refused() {
        let slots = Slots::new(1);
        let (only, _) = admitted(slots.admit());
        let request = only.busy();
        assert!(matches!(slots.admit(), Admission::Full));
        drop(request);
        let (_next, evicted) = admitted(slots.admit());
        assert!(evicted);
    }

    #[test]
    fn closing_connections_count_against_a_second_cap() {
        let slots = Slots::new(1);
        let (_a, _) = admitted(slots.admit());
        let (_b, evicted) = admitted(slots.admit());
        assert!(evicted, "a was idle and makes room for b");
        assert!(
            matches!(slots.admit(), Admission::Full),
            "a is still closing: a third would make three open with a cap of one"
        );
    }
}
