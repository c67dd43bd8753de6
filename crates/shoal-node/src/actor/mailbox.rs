//! An actor's bounded mailbox: many senders, one receiver that takes waiting messages a
//! chunk at a time.
//!
//! Senders append to the newest chunk under a short lock and wake the receiver only when it
//! waits. The receiver takes the oldest chunk (up to [`CHUNK`] messages) in O(1) and hands
//! back its emptied one for reuse, so it pays one lock per chunk and copies nothing. A sender
//! that waited for room is woken once the queue has drained to half its capacity: a full
//! mailbox costs one wake-up per many messages rather than one per message.
//!
//! Contract:
//! - `capacity` bounds the messages *waiting* to be taken. The chunk the actor is working
//!   through (at most [`CHUNK`]) is no longer waiting, as with a channel whose receiver takes
//!   messages in batches.
//! - Messages from one sender are taken in the order sent.
//! - Memory follows the queue: chunks grow as they fill. An emptied chunk keeps its buffer for
//!   reuse: besides the waiting messages, a mailbox holds at most two chunk buffers (the
//!   receiver's and one spare, each for at most [`CHUNK`] messages). Freeing them whenever the
//!   receiver went idle cost 15 % of `shoal bench messaging`'s local figure, for actors that
//!   alternate between bursts and idling.
//! - The mailbox closes only when the receiver closes it (or is dropped): the actor's own
//!   context holds a sender, so "every sender is gone" never happens while the actor runs.
//!   After the close every push fails with [`PushError::Closed`], and senders waiting for room
//!   are woken to see it.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use tokio::sync::Notify;

/// Messages per chunk, so per take. Bounded so that the memory an actor frees in one go stays
/// small: taking tens of thousands of 1 KiB messages at once made the allocator hand pages
/// back to the system and fault them in again (a third off `shoal bench messaging`'s 1 KiB
/// figure).
pub(crate) const CHUNK: usize = 1024;

/// Creates a mailbox holding at most `capacity` (at least 1) waiting messages.
pub(crate) fn mailbox<T>(capacity: usize) -> (MailboxSender<T>, MailboxReceiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            chunks: VecDeque::new(),
            waiting: 0,
            spare: None,
            closed: false,
            receiver: None,
            senders_waiting: false,
        }),
        capacity: capacity.max(1),
        room: Notify::new(),
        in_batch: Padded(AtomicUsize::new(0)),
    });
    let receiver = MailboxReceiver {
        shared: shared.clone(),
        batch: VecDeque::new(),
    };
    (MailboxSender { shared }, receiver)
}

/// Why a push failed; the message comes back.
#[derive(Debug)]
pub(crate) enum PushError<T> {
    /// `capacity` messages are already waiting.
    Full(T),
    /// The receiver closed the mailbox.
    Closed(T),
}

impl<T> PushError<T> {
    /// The message that was not queued.
    pub(crate) fn into_inner(self) -> T {
        match self {
            Self::Full(value) | Self::Closed(value) => value,
        }
    }
}

struct Shared<T> {
    state: Mutex<State<T>>,
    capacity: usize,
    /// Senders waiting for room; notified when the queue is down to half its capacity, and on
    /// the close.
    room: Notify,
    /// Messages of the receiver's current batch not yet handed out. Written only by the
    /// receiver and read only for introspection, so it sits on its own cache line.
    in_batch: Padded<AtomicUsize>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while the lock is held, but a poisoned queue is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct State<T> {
    /// Oldest first; every chunk but the newest holds exactly [`CHUNK`] messages.
    chunks: VecDeque<VecDeque<T>>,
    /// Messages in `chunks`.
    waiting: usize,
    /// An emptied chunk, kept to start the next one without allocating.
    spare: Option<VecDeque<T>>,
    closed: bool,
    /// Set while the receiver waits for a message.
    receiver: Option<Waker>,
    /// Whether a sender found the queue full and waits for room.
    senders_waiting: bool,
}

impl<T> State<T> {
    fn append(&mut self, value: T) {
        match self.chunks.back_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push_back(value),
            _ => {
                let mut chunk = self.spare.take().unwrap_or_default();
                chunk.push_back(value);
                self.chunks.push_back(chunk);
            }
        }
        self.waiting += 1;
    }
}

/// Keeps a value on its own cache line.
#[repr(align(128))]
struct Padded<T>(T);

/// The sending side; clones are one reference count.
pub(crate) struct MailboxSender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for MailboxSender<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> MailboxSender<T> {
    /// Queues `value` unless the mailbox is full or closed.
    pub(crate) fn try_send(&self, value: T) -> Result<(), PushError<T>> {
        self.push(value, false)
    }

    /// Queues `value`, waiting for room while the mailbox is full. Fails, giving the value
    /// back, when the mailbox is closed.
    pub(crate) async fn send(&self, mut value: T) -> Result<(), T> {
        loop {
            // Made before the push: a batch taken between the push and the wait still wakes it.
            let room = self.shared.room.notified();
            match self.push(value, true) {
                Ok(()) => return Ok(()),
                Err(PushError::Closed(value)) => return Err(value),
                Err(PushError::Full(back)) => value = back,
            }
            room.await;
        }
    }

    /// Whether the receiver closed the mailbox.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Messages waiting, plus those the receiver took but has not handed out yet.
    pub(crate) fn depth(&self) -> usize {
        let waiting = self.shared.lock().waiting;
        waiting + self.shared.in_batch.0.load(Ordering::Relaxed)
    }

    fn push(&self, value: T, wait: bool) -> Result<(), PushError<T>> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(PushError::Closed(value));
        }
        if state.waiting >= self.shared.capacity {
            state.senders_waiting |= wait;
            return Err(PushError::Full(value));
        }
        state.append(value);
        let receiver = state.receiver.take();
        drop(state);
        if let Some(waker) = receiver {
            waker.wake();
        }
        Ok(())
    }
}

/// The receiving side, owned by the actor's task.
pub(crate) struct MailboxReceiver<T> {
    shared: Arc<Shared<T>>,
    /// Taken from the queue, not yet handed out.
    batch: VecDeque<T>,
}

impl<T> MailboxReceiver<T> {
    /// Waits until [`MailboxReceiver::next`] has a message. When the current chunk is used
    /// up it takes the next. Cancel-safe: nothing is lost if the wait is dropped. Takes part
    /// in tokio's cooperative budget, so a busy actor still lets the other tasks on its thread
    /// run.
    pub(crate) async fn ready(&mut self) {
        poll_fn(|cx| self.poll_ready(cx)).await;
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.batch.is_empty() {
            return Poll::Ready(());
        }
        let coop = ready!(tokio::task::coop::poll_proceed(cx));
        let mut state = self.shared.lock();
        let Some(chunk) = state.chunks.pop_front() else {
            match &state.receiver {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => state.receiver = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        };
        state.waiting -= chunk.len();
        let emptied = std::mem::replace(&mut self.batch, chunk);
        // Keep the roomier of the two emptied chunks; free the other outside the lock.
        let extra = match &mut state.spare {
            Some(spare) if spare.capacity() >= emptied.capacity() => Some(emptied),
            spare => spare.replace(emptied),
        };
        let wake_senders = state.senders_waiting && state.waiting <= self.shared.capacity / 2;
        state.senders_waiting &= !wake_senders;
        drop(state);
        drop(extra);
        self.shared.in_batch.0.store(self.batch.len(), Ordering::Relaxed);
        if wake_senders {
            self.shared.room.notify_waiters();
        }
        coop.made_progress();
        Poll::Ready(())
    }

    /// The next message of the current batch, if any; never takes from the queue.
    pub(crate) fn next(&mut self) -> Option<T> {
        let value = self.batch.pop_front()?;
        self.shared.in_batch.0.store(self.batch.len(), Ordering::Relaxed);
        Some(value)
    }

    /// Closes the mailbox and returns every message not handed out yet, in order.
    pub(crate) fn close(&mut self) -> VecDeque<T> {
        let mut left = std::mem::take(&mut self.batch);
        let mut state = self.shared.lock();
        state.closed = true;
        state.waiting = 0;
        let chunks = std::mem::take(&mut state.chunks);
        drop(state);
        self.shared.in_batch.0.store(0, Ordering::Relaxed);
        self.shared.room.notify_waiters();
        left.extend(chunks.into_iter().flatten());
        left
    }
}

impl<T> Drop for MailboxReceiver<T> {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
#[path = "mailbox_test.rs"]
mod tests;
