use std::net::SocketAddr;

use shoal_proto::{Creation, ProtocolRange};
use tokio_util::task::TaskTracker;

use super::*;
use crate::node::chaos::Chaos;

fn member(name: &str) -> Member {
    Member {
        id: NodeId::new(shoal_proto::NodeName::new(name).unwrap(), Creation(1)),
        listen: SocketAddr::from(([127, 0, 0, 1], 1)),
        http: None,
        roles: vec![],
        version: "test".into(),
        protocol: ProtocolRange::CURRENT,
        process: Creation(1),
    }
}

/// A link context whose driver inputs come out of the returned receiver.
fn context() -> (LinkContext, mpsc::UnboundedReceiver<Input>) {
    let (inputs, rx) = mpsc::unbounded_channel();
    let local = member("dialer");
    let cancel = CancellationToken::new();
    let ctx = LinkContext {
        conn: ConnId(1),
        actors: Actors::new(local.id.clone(), cancel.clone(), TaskTracker::new()),
        local,
        cookie: Cookie::new("link-test").unwrap(),
        limits: Limits {
            max_frame_len: 1024,
            busy: 1024,
        },
        inputs,
        counters: Arc::new(LinkCounters::default()),
        chaos: Arc::new(Chaos::default()),
        cancel,
    };
    (ctx, rx)
}

/// Whether the dial to `addr` was reported as refused.
async fn dial_refused(addr: SocketAddr) -> bool {
    let (ctx, mut rx) = context();
    dial(addr, Some(member("peer").id), ctx).await;
    match rx.recv().await {
        Some(Input::DialFailed { refused, .. }) => refused,
        other => panic!("expected DialFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_port_nobody_listens_on_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    assert!(dial_refused(addr).await);
}

#[tokio::test]
async fn a_live_listener_that_resets_the_handshake_is_not_refused() {
    // A live peer that drops connections at once (too many handshakes in progress, a
    // duplicate link): the reset comes before it said anything.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let resetting = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_zero_linger().unwrap();
            drop(stream);
        }
    });
    assert!(
        !dial_refused(addr).await,
        "a live process's reset was taken for a crash"
    );
    resetting.abort();
}
