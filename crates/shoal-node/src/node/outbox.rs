//! The outbound side of one link. Senders append frames, length prefix and body, to one
//! buffer; the link's task takes the whole buffer at once and writes it with one system call.
//!
//! Compared with a queue of encoded frames, a message costs no allocation of its own and is
//! copied once on its way to the socket: senders encode straight into the buffer.
//!
//! The buffer is bounded for user traffic only, like Erlang's `dist_buf_busy_limit`: once
//! [`Limits::busy`] bytes wait unwritten (the peer reads slower than we send, or is
//! stalled), [`LinkSender::try_send_with`] refuses with [`OutboxError::Busy`] until the
//! link's task takes the buffer. Control frames (replies, monitors, exits, registry
//! deltas) use [`LinkSender::send_with`], which is never refused for room: they are small,
//! and losing one would break a promise made to another actor.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::peer_counters::PeerCounters;

/// Bytes of the length prefix before each frame body (big-endian `u32`, as
/// `tokio_util`'s `LengthDelimitedCodec` reads it on the other side).
const PREFIX: usize = 4;

/// A taken buffer above this capacity is not kept for reuse: one burst should not pin its
/// memory for the life of the link.
const SPARE_MAX: usize = 1024 * 1024;

/// The bounds of one link's outbox.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Largest frame body, in bytes: the peer closes the link on a longer one.
    pub(crate) max_frame_len: usize,
    /// Unwritten bytes at which user sends are refused as [`OutboxError::Busy`].
    pub(crate) busy: usize,
}

/// Why a frame was not queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OutboxError<E> {
    /// The link's task has stopped.
    Closed,
    /// At least `limit` bytes wait to be written (only from [`LinkSender::try_send_with`]).
    Busy { limit: usize },
    /// The body is longer than the link's frame limit; the peer would close the link.
    TooLarge { len: usize, max: usize },
    /// The body did not encode.
    Encode(E),
}

struct State {
    frames: Vec<u8>,
    /// Frames in `frames`, added to [`PeerCounters::frames_out`] when the link's task takes
    /// them (kept under the lock every send takes anyway: no atomic per frame).
    count: u64,
    /// Set when the link's task drops its end.
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the link's task when the buffer goes from empty to not.
    ready: Notify,
    /// Wakes senders waiting for room when the link's task takes a busy buffer, or stops.
    room: Arc<Notify>,
    /// Live [`LinkSender`]s; at zero the link's task writes what is left and retires.
    senders: AtomicUsize,
    limits: Limits,
    /// The peer's traffic counters (frames and bytes out, busy refusals).
    traffic: Arc<PeerCounters>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Creates the two ends of a link's outbox; what it carries is counted in `traffic`.
pub(crate) fn outbox(limits: Limits, traffic: Arc<PeerCounters>) -> (LinkSender, Outbox) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            frames: Vec::new(),
            count: 0,
            closed: false,
        }),
        ready: Notify::new(),
        room: Arc::new(Notify::new()),
        senders: AtomicUsize::new(1),
        limits,
        traffic,
    });
    let sender = LinkSender {
        shared: shared.clone(),
    };
    (
        sender,
        Outbox {
            shared,
            spare: Vec::new(),
        },
    )
}

/// Queues frames on one link. Clones share the link; when the last is dropped the link's
/// task writes what is queued and retires the link.
pub(crate) struct LinkSender {
    shared: Arc<Shared>,
}

impl LinkSender {
    /// Queues one frame whose body `encode` appends to the buffer it is given, however much
    /// waits unwritten. Frames from one sender go out in the order they were queued.
    pub(crate) fn send_with<E>(
        &self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), OutboxError<E>> {
        self.append(encode, usize::MAX)
    }

    /// Like [`Self::send_with`], but refused with [`OutboxError::Busy`] (and `encode` not
    /// called) while the busy limit's worth of bytes waits unwritten.
    pub(crate) fn try_send_with<E>(
        &self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), OutboxError<E>> {
        self.append(encode, self.shared.limits.busy)
    }

    /// Waits until a sender refused as busy may try again: the link's task took the
    /// buffer, or stopped. Create it before the attempt it follows, so that no wake-up is
    /// missed between the two.
    pub(crate) fn room(&self) -> tokio::sync::futures::OwnedNotified {
        self.shared.room.clone().notified_owned()
    }

    fn append<E>(
        &self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
        busy: usize,
    ) -> Result<(), OutboxError<E>> {
        let max = self.shared.limits.max_frame_len;
        let mut state = self.shared.lock();
        if state.closed {
            return Err(OutboxError::Closed);
        }
        if state.frames.len() >= busy {
            drop(state);
            self.shared.traffic.busy_refusals.fetch_add(1, Ordering::Relaxed);
            return Err(OutboxError::Busy { limit: busy });
        }
        let was_empty = state.frames.is_empty();
        // Until the frame is whole, dropping the guard (an error, or a panic in a message's
        // `Serialize`) cuts the buffer back to where the frame began.
        let mut frame = Partial::begin(&mut state.frames);
        let body = encode(frame.frames).map_err(OutboxError::Encode);
        let len = frame.frames.len() - frame.start - PREFIX;
        match (body, u32::try_from(len).ok().filter(|_| len <= max)) {
            (Ok(()), Some(prefix)) => frame.finish(prefix),
            (Err(e), _) => return Err(e),
            (Ok(()), None) => return Err(OutboxError::TooLarge { len, max }),
        }
        drop(frame);
        state.count += 1;
        drop(state);
        if was_empty {
            self.shared.ready.notify_one();
        }
        Ok(())
    }

    /// Queues one encoded frame body.
    pub(crate) fn send(&self, body: &[u8]) -> Result<(), OutboxError<std::convert::Infallible>> {
        self.send_with(|out| {
            out.extend_from_slice(body);
            Ok(())
        })
    }

    /// Bytes queued and not yet taken by the link's task.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.shared.lock().frames.len()
    }

    /// A handle that does not keep the link open.
    pub(crate) fn downgrade(&self) -> WeakLinkSender {
        WeakLinkSender {
            shared: self.shared.clone(),
        }
    }
}

impl Clone for LinkSender {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for LinkSender {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.ready.notify_one();
        }
    }
}

impl std::fmt::Debug for LinkSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSender").finish_non_exhaustive()
    }
}

/// A frame being appended: its length prefix is reserved, and unless [`Partial::finish`]
/// fills it in, dropping the guard removes the frame.
struct Partial<'a> {
    frames: &'a mut Vec<u8>,
    start: usize,
    done: bool,
}

impl<'a> Partial<'a> {
    fn begin(frames: &'a mut Vec<u8>) -> Self {
        let start = frames.len();
        frames.extend_from_slice(&[0; PREFIX]);
        Self {
            frames,
            start,
            done: false,
        }
    }

    fn finish(&mut self, len: u32) {
        self.frames[self.start..self.start + PREFIX].copy_from_slice(&len.to_be_bytes());
        self.done = true;
    }
}

impl Drop for Partial<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.frames.truncate(self.start);
        }
    }
}

/// A [`LinkSender`] that does not keep the link open.
pub(crate) struct WeakLinkSender {
    shared: Arc<Shared>,
}

impl WeakLinkSender {
    /// A sender, unless every sender is gone (the link is retiring or closed).
    pub(crate) fn upgrade(&self) -> Option<LinkSender> {
        let mut count = self.shared.senders.load(Ordering::Acquire);
        loop {
            if count == 0 {
                return None;
            }
            match self.shared.senders.compare_exchange_weak(
                count,
                count + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return Some(LinkSender {
                        shared: self.shared.clone(),
                    });
                }
                Err(actual) => count = actual,
            }
        }
    }
}

impl std::fmt::Debug for WeakLinkSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeakLinkSender").finish_non_exhaustive()
    }
}

/// The link task's end: takes everything queued at once.
pub(crate) struct Outbox {
    shared: Arc<Shared>,
    spare: Vec<u8>,
}

impl Outbox {
    /// Waits until frames are queued and takes them all, as bytes ready for the socket.
    /// Returns `None` once every sender is gone and nothing is left. Cancel safe.
    pub(crate) async fn recv(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(frames) = self.try_recv() {
                return Some(frames);
            }
            if self.shared.senders.load(Ordering::Acquire) == 0 {
                // A last send may have landed between the take and the count.
                return self.try_recv();
            }
            self.shared.ready.notified().await;
        }
    }

    /// Takes everything queued, if anything is; wakes senders waiting for room when it was
    /// busy.
    pub(crate) fn try_recv(&mut self) -> Option<Vec<u8>> {
        let mut state = self.shared.lock();
        if state.frames.is_empty() {
            return None;
        }
        let frames = std::mem::replace(&mut state.frames, std::mem::take(&mut self.spare));
        let count = std::mem::take(&mut state.count);
        drop(state);
        self.shared.traffic.count_out(count, frames.len());
        if frames.len() >= self.shared.limits.busy {
            self.shared.room.notify_waiters();
        }
        Some(frames)
    }

    /// Hands back a buffer [`Self::recv`] returned, once written, for reuse.
    pub(crate) fn recycle(&mut self, mut frames: Vec<u8>) {
        if frames.capacity() <= SPARE_MAX {
            frames.clear();
            self.spare = frames;
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        state.frames = Vec::new();
        drop(state);
        self.shared.room.notify_waiters();
    }
}

#[cfg(test)]
#[path = "outbox_test.rs"]
mod tests;
