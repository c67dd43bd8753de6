//! The outbound side of one link. Senders append frames, length prefix and body, to one
//! buffer; the link's task takes the whole buffer at once and writes it with one system call.
//!
//! Compared with a queue of encoded frames, a message costs no allocation of its own and is
//! copied once on its way to the socket: senders encode straight into the buffer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// Bytes of the length prefix before each frame body (big-endian `u32`, as
/// `tokio_util`'s `LengthDelimitedCodec` reads it on the other side).
const PREFIX: usize = 4;

/// A taken buffer above this capacity is not kept for reuse: one burst should not pin its
/// memory for the life of the link.
const SPARE_MAX: usize = 1024 * 1024;

/// Why a frame was not queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OutboxError<E> {
    /// The link's task has stopped.
    Closed,
    /// The body is longer than the link's frame limit; the peer would close the link.
    TooLarge { len: usize, max: usize },
    /// The body did not encode.
    Encode(E),
}

struct State {
    frames: Vec<u8>,
    /// Set when the link's task drops its end.
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the link's task when the buffer goes from empty to not.
    ready: Notify,
    /// Live [`LinkSender`]s; at zero the link's task writes what is left and retires.
    senders: AtomicUsize,
    max_frame_len: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Creates the two ends of a link's outbox. Frames longer than `max_frame_len` are refused.
pub(crate) fn outbox(max_frame_len: usize) -> (LinkSender, Outbox) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            frames: Vec::new(),
            closed: false,
        }),
        ready: Notify::new(),
        senders: AtomicUsize::new(1),
        max_frame_len,
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
    /// Queues one frame whose body `encode` appends to the buffer it is given. Frames from
    /// one sender go out in the order they were queued.
    pub(crate) fn send_with<E>(
        &self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), OutboxError<E>> {
        let max = self.shared.max_frame_len;
        let mut state = self.shared.lock();
        if state.closed {
            return Err(OutboxError::Closed);
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

    /// Takes everything queued, if anything is.
    pub(crate) fn try_recv(&mut self) -> Option<Vec<u8>> {
        let mut state = self.shared.lock();
        if state.frames.is_empty() {
            return None;
        }
        Some(std::mem::replace(
            &mut state.frames,
            std::mem::take(&mut self.spare),
        ))
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
    }
}

#[cfg(test)]
#[path = "outbox_test.rs"]
mod tests;
