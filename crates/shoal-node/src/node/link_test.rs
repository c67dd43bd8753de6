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
    let actors = Actors::new(local.id.clone(), cancel.clone(), TaskTracker::new());
    let ctx = LinkContext {
        conn: ConnId(1),
        children: Arc::new(Table::new(local.id.clone(), actors.remote().clone())),
        actors,
        local,
        cookie: Cookie::new("link-test").unwrap(),
        tls: None,
        limits: Limits {
            max_frame_len: 1024,
            busy: 1024,
        },
        inputs,
        counters: Arc::new(LinkCounters::default()),
        peers: Default::default(),
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

/// Two frames, length-prefixed as the peer's outbox writes them.
fn framed(bodies: &[&[u8]]) -> BytesMut {
    let mut bytes = BytesMut::new();
    for body in bodies {
        bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
        bytes.extend_from_slice(body);
    }
    bytes
}

#[test]
fn frames_buffered_behind_the_handshake_are_taken_before_any_read() {
    // The handshake's last read also took the peer's first frames and half of the next.
    let mut buffered = framed(&[b"summary", b"registry"]);
    let next = framed(&[b"delta"]);
    buffered.extend_from_slice(&next[..6]);
    let mut codec = LengthDelimitedCodec::builder().max_frame_length(1024).new_codec();
    let early = take_frames(&mut codec, &mut buffered);
    let early: Vec<BytesMut> = early.into_iter().map(Result::unwrap).collect();
    assert_eq!(early, [&b"summary"[..], &b"registry"[..]]);
    // The codec kept the half frame's header; the rest completes it.
    buffered.extend_from_slice(&next[6..]);
    assert_eq!(codec.decode(&mut buffered).unwrap().unwrap(), &b"delta"[..]);
}

#[test]
fn an_oversized_frame_behind_the_handshake_ends_the_list() {
    let mut buffered = framed(&[b"ok", &[0; 64]]);
    let mut codec = LengthDelimitedCodec::builder().max_frame_length(16).new_codec();
    let early = take_frames(&mut codec, &mut buffered);
    assert_eq!(early.len(), 2);
    assert!(early[0].is_ok());
    assert_eq!(
        early[1].as_ref().unwrap_err().kind(),
        std::io::ErrorKind::InvalidData
    );
}

#[tokio::test]
async fn a_frame_that_came_with_the_handshakes_last_read_is_dispatched_without_more_traffic() {
    // The peer writes the handshake's last message and its first link frame at once, then
    // nothing more: the frame must reach the driver anyway (it used to wait in the reader's
    // buffer for the peer's next frame).
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let bodies = [LinkMessage::Goodbye.encode(), LinkMessage::Heartbeat(7).encode()];
        let bodies: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
        stream.write_all(&framed(&bodies)).await.unwrap();
        stream // kept open, silent
    });
    let stream = TcpStream::connect(addr).await.unwrap();
    let codec = LengthDelimitedCodec::builder().max_frame_length(1024).new_codec();
    let mut frames = Framed::new(stream, codec);
    let _silent = peer.await.unwrap();
    // The "handshake's last message": read while the frame behind it is buffered too.
    let last = frames.next().await.unwrap().unwrap();
    assert_eq!(LinkMessage::decode(&last).unwrap(), LinkMessage::Goodbye);
    let (ctx, mut inputs) = context();
    let (out, outbox) = outbox(ctx.limits, Default::default());
    let origin = Arc::new(Origin {
        peer: member("peer").id,
        out: out.downgrade(),
    });
    let relaying =
        tokio::spawn(async move { relay(frames, outbox, &origin, &PeerCounters::default(), &ctx).await });
    let first = tokio::time::timeout(Duration::from_secs(10), inputs.recv()).await;
    relaying.abort();
    drop(out);
    match first {
        Ok(Some(Input::LinkMessage { msg, .. })) => assert_eq!(msg, LinkMessage::Heartbeat(7)),
        Ok(other) => panic!("expected the buffered heartbeat, got {other:?}"),
        Err(_) => panic!("the frame behind the handshake was not dispatched within 10 s"),
    }
}

/// `shoal chaos run --seed 51`: c3 retired its link to c5 (a `Retired` frame, then its close)
/// while c5 was stopped. Resumed, c5 wrote before it read: its first write was answered with a
/// reset, its next one failed, and the link ended without reading the `Retired` that waited in
/// the socket, so c5's core took the close for a crash. Whichever half runs first, the frame
/// must reach the driver.
#[tokio::test]
async fn a_frame_the_peer_sent_before_it_closed_arrives_even_when_a_write_fails_first() {
    for round in 0..16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let retired = LinkMessage::Retired.encode();
            stream.write_all(&framed(&[&retired])).await.unwrap();
            // Dropped: closed, as a retired link's lame duck ends.
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        peer.await.unwrap();
        // A write to the closed socket is answered with a reset: every write fails from now on.
        stream.write_all(b"late").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let codec = LengthDelimitedCodec::builder().max_frame_length(1024).new_codec();
        let frames = Framed::new(stream, codec);
        let (ctx, mut inputs) = context();
        let (out, outbox) = outbox(ctx.limits, Default::default());
        out.send(&LinkMessage::Heartbeat(1).encode()).unwrap();
        let origin = Arc::new(Origin {
            peer: member("peer").id,
            out: out.downgrade(),
        });
        let relayed = tokio::time::timeout(
            Duration::from_secs(5),
            relay(frames, outbox, &origin, &PeerCounters::default(), &ctx),
        )
        .await;
        assert!(relayed.is_ok(), "round {round}: the link did not end");
        drop(out);
        match inputs.try_recv() {
            Ok(Input::LinkMessage { msg, .. }) => assert_eq!(msg, LinkMessage::Retired, "round {round}"),
            other => panic!("round {round}: the peer's Retired was lost, got {other:?}"),
        }
    }
}
