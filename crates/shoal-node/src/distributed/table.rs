//! The child table on a node: the sans-io [`ChildTable`] replica behind a lock, fed with
//! frames and link events, its outputs sent on the links; plus the handed-off states that
//! arrived for children moving here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use shoal_proto::children::{ChildFrame, ChildOutput, ChildTable};
use shoal_proto::{LinkMessage, NodeId, NodeName};
use tokio::sync::{Notify, watch};

use crate::actor::{Remote, append_message};

/// A handed-over state: its sender, the state, and when it came (ms).
type Arrived = (NodeName, Option<Bytes>, u64);

/// The replica and what waits on it.
pub(crate) struct Table {
    replica: Mutex<ChildTable>,
    /// The replica's change count, for `start_child`/`migrate` waiters and the manager.
    changes: watch::Sender<u64>,
    /// States handed over to this node, by child id, until the child starts here: sender,
    /// state, and when it came (ms).
    handoffs: Mutex<HashMap<String, Arrived>>,
    /// Wakes the manager (a handoff arrived).
    pub(crate) kick: Notify,
    /// The links the table's frames leave on.
    remote: Arc<Remote>,
}

impl Table {
    pub(crate) fn new(local: NodeId, remote: Arc<Remote>) -> Self {
        Self {
            remote,
            replica: Mutex::new(ChildTable::new(local)),
            changes: watch::channel(0).0,
            handoffs: Mutex::new(HashMap::new()),
            kick: Notify::new(),
        }
    }

    /// A watch that changes with the table.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The state handed over for `id`, if it came, left in place: `Some((from, state))`.
    pub(crate) fn peek_handoff(&self, id: &str) -> Option<(NodeName, Option<Bytes>)> {
        lock(&self.handoffs)
            .get(id)
            .map(|(from, state, _)| (from.clone(), state.clone()))
    }

    /// Takes the state handed over for `id`, if it came: `Some((from, state))`.
    pub(crate) fn take_handoff(&self, id: &str) -> Option<(NodeName, Option<Bytes>)> {
        lock(&self.handoffs)
            .remove(id)
            .map(|(from, state, _)| (from, state))
    }

    /// Keeps the handed-over states for which `keep(id, arrived_ms)` holds.
    pub(crate) fn retain_handoffs(&self, mut keep: impl FnMut(&str, u64) -> bool) {
        lock(&self.handoffs).retain(|id, (_, _, arrived)| keep(id, *arrived));
    }

    /// Whether a handoff for `id` arrived and waits.
    pub(crate) fn has_handoff(&self, id: &str) -> bool {
        lock(&self.handoffs).contains_key(id)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Table {
    /// Runs `f` on the child table, then sends the local writes as one delta and whatever
    /// else the table asks; waiters hear of any change. Frames are queued under the lock,
    /// so deltas leave in write order.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut ChildTable) -> T) -> T {
        let mut replica = lock(&self.replica);
        let before = replica.changes();
        let result = f(&mut replica);
        replica.flush();
        while let Some(output) = replica.poll_output() {
            let remote = &self.remote;
            match output {
                ChildOutput::Send { to, frame } => {
                    let _ = remote.send_with(&to, append_message(&LinkMessage::Children(frame)));
                }
                ChildOutput::Broadcast(frame) => {
                    remote.broadcast(&LinkMessage::Children(frame).encode());
                }
            }
        }
        let after = replica.changes();
        drop(replica);
        if after != before {
            self.changes.send_replace(after);
        }
        result
    }

    /// A child-table frame from `from`.
    pub(crate) fn handle_frame(&self, from: &NodeId, frame: ChildFrame) {
        match frame {
            ChildFrame::Handoff { id, state } => {
                let now_ms = crate::now_us() / 1000;
                lock(&self.handoffs).insert(id, (from.name.clone(), state, now_ms));
                self.kick.notify_one();
            }
            frame => self.with(|t| t.handle_frame(from, frame)),
        }
    }

    /// A link to `peer` is up: compare child tables.
    pub(crate) fn peer_linked(&self, peer: NodeId) {
        self.with(|t| t.handle_peer_up(peer));
    }

    /// No link leads to `peer` any more: its table is compared again on the next link-up.
    pub(crate) fn peer_unlinked(&self, peer: &NodeId) {
        self.with(|t| t.handle_peer_down(peer));
    }

    /// Anti-entropy and tombstone collection: every linked peer gets our summary.
    pub(crate) fn tick(&self) {
        let now_ms = crate::now_us() / 1000;
        self.with(|t| t.handle_tick(now_ms));
    }

    /// Sends the state of child `id` to its new owner `to`.
    pub(crate) fn send_handoff(&self, to: &NodeId, id: &str, state: Option<Vec<u8>>) -> bool {
        let frame = ChildFrame::Handoff {
            id: id.to_owned(),
            state: state.map(Bytes::from),
        };
        self.remote
            .send_with(to, append_message(&LinkMessage::Children(frame)))
            .is_ok()
    }
}
