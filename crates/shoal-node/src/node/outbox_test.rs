use bytes::BytesMut;
use tokio_util::codec::{Decoder, LengthDelimitedCodec};

use super::*;

/// Limits with `max_frame_len` and a busy limit too large to matter.
fn frame_limit(max_frame_len: usize) -> Limits {
    Limits {
        max_frame_len,
        busy: usize::MAX,
    }
}

/// Splits written bytes back into frame bodies the way the peer's reader does.
fn frames_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut codec = LengthDelimitedCodec::new();
    let mut buf = BytesMut::from(bytes);
    let mut frames = Vec::new();
    while let Some(frame) = codec.decode(&mut buf).unwrap() {
        frames.push(frame.to_vec());
    }
    assert!(buf.is_empty(), "a partial frame was left");
    frames
}

#[tokio::test]
async fn frames_come_out_whole_and_in_order_until_the_last_sender_goes() {
    let (tx, mut queue) = outbox(frame_limit(1024), Default::default());
    let other = tx.clone();
    tx.send(b"one").unwrap();
    other.send(b"").unwrap();
    tx.send(b"three").unwrap();
    let written = queue.recv().await.unwrap();
    assert_eq!(frames_of(&written), [&b"one"[..], b"", b"three"]);
    queue.recycle(written);

    drop(tx);
    other.send(b"last").unwrap();
    drop(other);
    assert_eq!(frames_of(&queue.recv().await.unwrap()), [b"last"]);
    assert_eq!(queue.recv().await, None);
}

#[tokio::test]
async fn a_waiting_task_wakes_for_a_frame_and_for_the_last_drop() {
    let (tx, mut queue) = outbox(frame_limit(1024), Default::default());
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(bytes) = queue.recv().await {
            got.extend(frames_of(&bytes));
        }
        got
    });
    tokio::task::yield_now().await;
    tx.send(b"a").unwrap();
    tokio::task::yield_now().await;
    tx.send(b"b").unwrap();
    drop(tx);
    assert_eq!(reader.await.unwrap(), [b"a", b"b"]);
}

#[test]
fn oversized_and_unencodable_frames_are_refused_and_leave_the_queue_as_it_was() {
    let (tx, mut queue) = outbox(frame_limit(4), Default::default());
    tx.send(b"ok").unwrap();
    assert_eq!(tx.send(b"12345"), Err(OutboxError::TooLarge { len: 5, max: 4 }));
    let failed = tx.send_with(|out| {
        out.extend_from_slice(b"xx");
        Err("no")
    });
    assert_eq!(failed, Err(OutboxError::Encode("no")));
    tx.send(b"1234").unwrap();
    assert_eq!(frames_of(&queue.try_recv().unwrap()), [&b"ok"[..], b"1234"]);
    assert_eq!(queue.try_recv(), None);
}

#[test]
fn a_weak_sender_upgrades_only_while_a_sender_lives_and_sends_fail_once_the_task_is_gone() {
    let (tx, queue) = outbox(frame_limit(1024), Default::default());
    let weak = tx.downgrade();
    let upgraded = weak.upgrade().expect("a sender lives");
    drop(tx);
    upgraded.send(b"still open").unwrap();
    drop(upgraded);
    assert!(weak.upgrade().is_none());

    drop(queue);

    let (tx, queue) = outbox(frame_limit(1024), Default::default());
    drop(queue);
    assert_eq!(tx.send(b"late"), Err(OutboxError::Closed));
}

#[test]
fn a_panic_while_encoding_leaves_no_partial_frame() {
    let (tx, mut queue) = outbox(frame_limit(1024), Default::default());
    tx.send(b"before").unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = tx.send_with(|out| -> Result<(), ()> {
            out.extend_from_slice(b"half a fra");
            panic!("a Serialize impl panicked");
        });
    }));
    assert!(panicked.is_err());
    tx.send(b"after").unwrap();
    assert_eq!(frames_of(&queue.try_recv().unwrap()), [&b"before"[..], b"after"]);
}

#[test]
fn user_frames_are_refused_while_the_busy_limit_waits_unwritten_but_control_frames_are_not() {
    let traffic = Arc::new(PeerCounters::default());
    let (tx, mut queue) = outbox(
        Limits {
            max_frame_len: 1024,
            busy: 10,
        },
        traffic.clone(),
    );
    let user = |body: &'static [u8]| {
        tx.try_send_with(|out| {
            out.extend_from_slice(body);
            Ok::<_, ()>(())
        })
    };
    // 4 + 4 bytes wait: under the limit, so one more frame of any size goes in.
    user(b"1234").unwrap();
    user(b"123456789").unwrap();
    assert_eq!(user(b"x"), Err(OutboxError::Busy { limit: 10 }));
    tx.send(b"control").unwrap();
    let taken = queue.try_recv().unwrap();
    assert_eq!(frames_of(&taken), [&b"1234"[..], b"123456789", b"control"]);
    user(b"x").unwrap();
    assert_eq!(tx.queued_bytes(), 5);
    assert_eq!(frames_of(&queue.try_recv().unwrap()), [b"x"]);
    assert_eq!(tx.queued_bytes(), 0);
    // Counted when taken: 4 frames, their bodies and 4-byte prefixes; one busy refusal.
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(load(&traffic.frames_out), 4);
    assert_eq!(load(&traffic.bytes_out), 4 * 4 + 4 + 9 + 7 + 1);
    assert_eq!(load(&traffic.busy_refusals), 1);
}

#[tokio::test]
async fn a_sender_refused_as_busy_wakes_when_the_buffer_is_taken_and_when_the_link_stops() {
    let (tx, mut queue) = outbox(
        Limits {
            max_frame_len: 1024,
            busy: 1,
        },
        Default::default(),
    );
    tx.send(b"full").unwrap();
    let room = tx.room();
    assert!(matches!(
        tx.try_send_with(|_| Ok::<_, ()>(())),
        Err(OutboxError::Busy { .. })
    ));
    let waiter = tokio::spawn(room);
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    let _ = queue.try_recv().unwrap();
    waiter.await.unwrap();

    tx.send(b"full").unwrap();
    let waiter = tokio::spawn(tx.room());
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    drop(queue);
    waiter.await.unwrap();
    assert_eq!(tx.try_send_with(|_| Ok::<_, ()>(())), Err(OutboxError::Closed));
}
