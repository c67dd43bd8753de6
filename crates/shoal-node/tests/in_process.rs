//! Several nodes in one test process: nodes are values, not process globals.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use shoal_node::{DownReason, Event, Node, NodeEvent};
use tokio::sync::broadcast::Receiver;

const WAIT: Duration = Duration::from_secs(20);

async fn node(name: &str, cookie: &str, seed: Option<&Node>) -> Node {
    let seeds: Vec<String> = seed.map(|s| s.listen_addr().to_string()).into_iter().collect();
    Node::builder()
        .name(name)
        .cookie(cookie)
        .seeds(seeds)
        .start()
        .await
        .unwrap()
}

async fn next_matching(events: &mut Receiver<NodeEvent>, pred: impl Fn(&Event) -> bool) -> Event {
    tokio::time::timeout(WAIT, async {
        loop {
            let e = events.recv().await.unwrap().event;
            if pred(&e) {
                return e;
            }
        }
    })
    .await
    .expect("event within the deadline")
}

#[tokio::test]
async fn nodes_in_one_process_join_and_a_leave_is_seen_as_left() {
    let a = node("a", "k", None).await;
    let mut events = a.subscribe_from_start().unwrap();
    let b = node("b", "k", Some(&a)).await;
    let up = next_matching(
        &mut events,
        |e| matches!(e, Event::NodeUp(m) if m.id.name.as_str() == "b"),
    )
    .await;
    assert!(matches!(up, Event::NodeUp(m) if m.id == b.local().id));
    b.leave().await;
    let down = next_matching(&mut events, |e| matches!(e, Event::NodeDown { .. })).await;
    assert_eq!(
        down,
        Event::NodeDown {
            id: b.local().id,
            reason: DownReason::Left
        }
    );
    assert!(a.members().is_empty());
    a.shutdown().await;
}

#[tokio::test]
async fn a_node_with_another_cookie_is_never_a_member() {
    let a = node("a", "k", None).await;
    let c = node("c", "other", Some(&a)).await;
    let refused = tokio::time::timeout(WAIT, async {
        while a.stats().handshake_failures == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(refused.is_ok(), "a never refused c");
    assert!(a.members().is_empty() && c.members().is_empty());
    c.shutdown().await;
    a.shutdown().await;
}
