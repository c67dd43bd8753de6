//! `Cells`: the table of a node's running actors, by local id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::cell::Cell;
use super::message_counters::MessageCounters;

/// The local actors by id. foldhash, not SipHash: every local send and call looks an actor
/// up here, and ids are not chosen by peers.
type ActorTable = HashMap<u64, Arc<Cell>, foldhash::fast::FixedState>;

/// The running actors of one node. A cell is in the table from its spawn until its task
/// records the exit; lookups skip cells whose fence lapsed ([`Cell::admits`]).
pub(crate) struct Cells {
    table: RwLock<ActorTable>,
    next_id: AtomicU64,
    /// The node's message counters; every cell holds them too.
    messages: Arc<MessageCounters>,
}

impl Default for Cells {
    fn default() -> Self {
        Self {
            table: RwLock::default(),
            next_id: AtomicU64::new(1),
            messages: Arc::default(),
        }
    }
}

impl Cells {
    /// Adds the cell `make` builds for a fresh id and the node's message counters.
    pub(crate) fn insert(&self, make: impl FnOnce(u64, Arc<MessageCounters>) -> Cell) -> Arc<Cell> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let cell = Arc::new(make(id, self.messages.clone()));
        self.write().insert(id, cell.clone());
        cell
    }

    /// Removes actor `id` (its task records its exit). What it handled stays counted in the
    /// node's total (under the table's lock, so a [`Cells::census`] sees it once).
    pub(crate) fn remove(&self, id: u64) {
        let mut table = self.write();
        if let Some(cell) = table.remove(&id) {
            self.messages
                .retired_handled
                .fetch_add(cell.handled(), Ordering::Relaxed);
        }
    }

    /// The node's message counters.
    pub(crate) fn messages(&self) -> &Arc<MessageCounters> {
        &self.messages
    }

    /// Runs `visit` on every cell in the table, fenced or not, under its read lock; returns
    /// the messages handled by actors that left it, read under the same lock, so that with
    /// the cells' own counts each message is counted once. `visit` must not touch the table.
    pub(crate) fn census(&self, mut visit: impl FnMut(&Cell)) -> u64 {
        let table = self.read();
        for cell in table.values() {
            visit(cell);
        }
        self.messages.retired_handled.load(Ordering::Relaxed)
    }

    /// Messages handled by this node's actors since it started, those that stopped included.
    pub(crate) fn handled_total(&self) -> u64 {
        let mut live = 0;
        let retired = self.census(|cell| live += cell.handled());
        live + retired
    }

    /// The actor `id`, unless it stopped or its fence lapsed.
    pub(crate) fn get(&self, id: u64) -> Option<Arc<Cell>> {
        self.read().get(&id).filter(|c| c.admits()).cloned()
    }

    /// Whether actor `id` runs (no clone of its cell).
    pub(crate) fn is_running(&self, id: u64) -> bool {
        self.read().get(&id).is_some_and(|c| c.admits())
    }

    /// Every actor in the table, fenced or not.
    pub(crate) fn all(&self) -> Vec<Arc<Cell>> {
        self.read().values().cloned().collect()
    }

    /// Runs `f` on every actor that may act, under the table's read lock.
    pub(crate) fn each_admitted<T>(&self, f: impl FnMut(&Arc<Cell>) -> T) -> Vec<T> {
        self.read().values().filter(|c| c.admits()).map(f).collect()
    }

    /// How many actors are in the table.
    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }

    fn read(&self) -> RwLockReadGuard<'_, ActorTable> {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, ActorTable> {
        self.table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
