use std::sync::atomic::AtomicBool;
use std::time::Duration;

use futures_util::FutureExt;

use super::*;

/// Generous bound for waits that should end at once.
const WAIT: Duration = Duration::from_secs(10);

fn take_batch<T>(rx: &mut MailboxReceiver<T>) -> Vec<T> {
    std::iter::from_fn(|| rx.next()).collect()
}

#[tokio::test]
async fn a_batch_takes_every_waiting_message_in_order() {
    let (tx, mut rx) = mailbox(8);
    let other = tx.clone();
    tx.try_send(1).unwrap();
    other.try_send(2).unwrap();
    tx.try_send(3).unwrap();
    rx.ready().await;
    assert_eq!(take_batch(&mut rx), [1, 2, 3]);
    tx.try_send(4).unwrap();
    rx.ready().await;
    assert_eq!(take_batch(&mut rx), [4]);
}

#[tokio::test]
async fn takes_go_a_chunk_at_a_time_in_order_and_reuse_emptied_chunks() {
    let total = 2 * CHUNK + 3;
    let (tx, mut rx) = mailbox(total);
    for i in 0..total {
        tx.try_send(i).unwrap();
    }
    let mut got = Vec::new();
    for expected in [CHUNK, CHUNK, 3] {
        rx.ready().await;
        let batch = take_batch(&mut rx);
        assert_eq!(batch.len(), expected);
        got.extend(batch);
    }
    assert_eq!(got, (0..total).collect::<Vec<_>>());
    // The receiver handed back an emptied chunk; the next message starts in it.
    let spare = tx.shared.lock().spare.as_ref().map(VecDeque::capacity);
    assert!(spare.is_some_and(|capacity| capacity >= CHUNK));
    tx.try_send(0).unwrap();
    assert!(tx.shared.lock().spare.is_none());
}

#[tokio::test]
async fn a_full_mailbox_refuses_until_the_receiver_takes_a_batch() {
    let (tx, mut rx) = mailbox(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(matches!(tx.try_send(3), Err(PushError::Full(3))));
    rx.ready().await;
    assert_eq!(rx.next(), Some(1));
    // The batch no longer counts against the capacity; the depth still shows it.
    tx.try_send(3).unwrap();
    tx.try_send(4).unwrap();
    assert!(matches!(tx.try_send(5), Err(PushError::Full(5))));
    assert_eq!(tx.depth(), 3);
    assert_eq!(take_batch(&mut rx), [2]);
    assert_eq!(tx.depth(), 2);
}

#[tokio::test]
async fn a_capacity_of_zero_holds_one_message() {
    let (tx, _rx) = mailbox(0);
    tx.try_send(1).unwrap();
    assert!(matches!(tx.try_send(2), Err(PushError::Full(2))));
}

#[tokio::test]
async fn a_waiting_receiver_wakes_for_a_push() {
    let (tx, mut rx) = mailbox(4);
    let receiver = tokio::spawn(async move {
        rx.ready().await;
        rx.next()
    });
    tokio::task::yield_now().await;
    tx.try_send(7).unwrap();
    let got = tokio::time::timeout(WAIT, receiver).await.unwrap().unwrap();
    assert_eq!(got, Some(7));
}

#[tokio::test]
async fn a_sender_waiting_for_room_wakes_when_a_batch_is_taken() {
    let (tx, mut rx) = mailbox(1);
    tx.try_send(1).unwrap();
    let waiting = tokio::spawn({
        let tx = tx.clone();
        async move { tx.send(2).await }
    });
    // Let the sender find the mailbox full before the batch is taken.
    while !tx.shared.lock().senders_waiting {
        tokio::task::yield_now().await;
    }
    rx.ready().await;
    assert_eq!(rx.next(), Some(1));
    tokio::time::timeout(WAIT, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    rx.ready().await;
    assert_eq!(rx.next(), Some(2));
}

#[tokio::test]
async fn close_hands_back_the_batch_then_the_queue_and_refuses_later_pushes() {
    let (tx, mut rx) = mailbox(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    rx.ready().await;
    assert_eq!(rx.next(), Some(1));
    tx.try_send(3).unwrap();
    let waiting = tokio::spawn({
        let tx = tx.clone();
        tx.try_send(4).unwrap();
        async move { tx.send(5).await }
    });
    while !tx.shared.lock().senders_waiting {
        tokio::task::yield_now().await;
    }
    assert_eq!(Vec::from(rx.close()), [2, 3, 4]);
    assert!(tx.is_closed());
    assert_eq!(tx.depth(), 0);
    assert!(matches!(tx.try_send(6), Err(PushError::Closed(6))));
    let refused = tokio::time::timeout(WAIT, waiting).await.unwrap().unwrap();
    assert_eq!(refused, Err(5));
}

#[tokio::test]
async fn dropping_the_receiver_closes_the_mailbox() {
    let (tx, rx) = mailbox(2);
    tx.try_send(1).unwrap();
    drop(rx);
    assert!(tx.is_closed());
    assert!(matches!(tx.try_send(2), Err(PushError::Closed(2))));
}

/// Senders on other threads that wait for room: every message arrives, in each sender's
/// order, and nobody is left waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_senders_on_other_threads_lose_and_reorder_nothing() {
    const SENDERS: u64 = 4;
    const EACH: u64 = 20_000;
    let (tx, mut rx) = mailbox(100);
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let tx = tx.clone();
            tokio::spawn(async move {
                for seq in 0..EACH {
                    tx.send((sender, seq)).await.unwrap();
                }
            })
        })
        .collect();
    let receive = async {
        let mut expected = [0; SENDERS as usize];
        for _ in 0..SENDERS * EACH {
            rx.ready().await;
            let (sender, seq) = rx.next().unwrap();
            assert_eq!(seq, expected[sender as usize], "sender {sender} out of order");
            expected[sender as usize] += 1;
        }
    };
    tokio::time::timeout(WAIT, receive)
        .await
        .expect("the receiver stalled");
    for sender in senders {
        tokio::time::timeout(WAIT, sender).await.unwrap().unwrap();
    }
    assert_eq!(tx.depth(), 0);
}

/// A receiver whose mailbox is never empty must still let other tasks on its thread run.
#[tokio::test(flavor = "current_thread")]
async fn a_busy_receiver_yields_to_other_tasks() {
    let (tx, mut rx) = mailbox(4);
    let other_ran = Arc::new(AtomicBool::new(false));
    tokio::spawn({
        let other_ran = other_ran.clone();
        async move { other_ran.store(true, Ordering::Relaxed) }
    });
    let mut rounds = 0;
    while !other_ran.load(Ordering::Relaxed) && rounds < 100_000 {
        tx.try_send(rounds).unwrap();
        rx.ready().await;
        assert_eq!(rx.next(), Some(rounds));
        rounds += 1;
    }
    assert!(other_ran.load(Ordering::Relaxed), "the receiver never yielded");
}

/// One step of the model test.
#[derive(Clone, Debug)]
enum Step {
    /// `try_send` this many messages.
    Push(usize),
    /// Hand out this many messages, taking a chunk first if the current one is used up.
    Handle(usize),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        (0..3 * CHUNK).prop_map(Step::Push),
        (0..2 * CHUNK).prop_map(Step::Handle),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Against a plain FIFO split into "waiting" and "taken": nothing lost, reordered or
    /// refused while there is room; `Full` exactly when `capacity` messages wait; a take moves
    /// the oldest chunk (every chunk but the newest is full); the depth counts both parts; the
    /// close hands back the rest in order.
    #[test]
    fn the_mailbox_behaves_like_a_bounded_fifo(
        capacity in 1..3 * CHUNK,
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let (tx, mut rx) = mailbox(capacity);
        let (mut waiting, mut taken) = (VecDeque::new(), VecDeque::new());
        let mut next = 0u64;
        for step in steps {
            match step {
                Step::Push(n) => {
                    for _ in 0..n {
                        let pushed = tx.try_send(next);
                        if waiting.len() < capacity {
                            proptest::prop_assert!(pushed.is_ok());
                            waiting.push_back(next);
                        } else {
                            proptest::prop_assert!(matches!(pushed, Err(PushError::Full(v)) if v == next));
                        }
                        next += 1;
                    }
                }
                Step::Handle(n) => {
                    for _ in 0..n {
                        if taken.is_empty() {
                            let chunk = waiting.len().min(CHUNK);
                            taken.extend(waiting.drain(..chunk));
                        }
                        let ready = rx.ready().now_or_never().is_some();
                        proptest::prop_assert_eq!(ready, !taken.is_empty());
                        proptest::prop_assert_eq!(rx.next(), taken.pop_front());
                    }
                }
            }
            proptest::prop_assert_eq!(tx.depth(), waiting.len() + taken.len());
        }
        let left: Vec<u64> = taken.into_iter().chain(waiting).collect();
        proptest::prop_assert_eq!(Vec::from(rx.close()), left);
    }
}
