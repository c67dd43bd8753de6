//! Actors across two nodes in one process: remote call, spawn, monitors, links, refusals.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use bytes::Bytes;
use shoal_node::actor::{
    Actor, ActorError, CallError, Codec, Ctx, ECHO_FACTORY, EchoCall, EchoMsg, EchoReply, ExitReason, Never,
    Pid, Refusal, RemoteMessage, SendError, Signal, SpawnError, SpawnRefusal,
};
use shoal_node::{Node, NodeName};
use tokio::sync::mpsc::{self, UnboundedReceiver};

const WAIT: Duration = Duration::from_secs(20);

async fn pair() -> (Node, Node) {
    let a = Node::builder().name("a").cookie("k").start().await.unwrap();
    let b = Node::builder()
        .name("b")
        .cookie("k")
        .seeds([a.listen_addr().to_string()])
        .start()
        .await
        .unwrap();
    for node in [&a, &b] {
        tokio::time::timeout(WAIT, async {
            while !node.members().iter().any(|m| m.linked) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("nodes link");
    }
    (a, b)
}

fn name(node: &Node) -> NodeName {
    node.local().id.name
}

async fn remote_echo(from: &Node, on: &Node) -> Pid {
    from.actors()
        .spawn_remote(&name(on), ECHO_FACTORY, &(), WAIT)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_remote_call_round_trips_and_sends_arrive_in_order() {
    let (a, b) = pair().await;
    let echo = remote_echo(&a, &b).await;
    assert_eq!(echo.node, b.local().id);
    let reply: EchoReply = a
        .actors()
        .call(&echo, EchoCall::Echo(Bytes::from_static(b"ping")), WAIT)
        .await
        .unwrap();
    assert_eq!(reply, EchoReply::Echo(Bytes::from_static(b"ping")));
    for i in 0..200u32 {
        a.actors()
            .send(&echo, EchoMsg::Data(Bytes::from(i.to_be_bytes().to_vec())))
            .unwrap();
    }
    // The call travels behind the sends on the same link, so it sees all of them.
    let count: EchoReply = a.actors().call(&echo, EchoCall::Received, WAIT).await.unwrap();
    assert_eq!(count, EchoReply::Received(200));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn remote_spawn_refuses_unknown_factories_and_bad_arguments() {
    let (a, b) = pair().await;
    let unknown = a.actors().spawn_remote(&name(&b), "nope", &(), WAIT).await;
    assert_eq!(
        unknown,
        Err(SpawnError::Refused(SpawnRefusal::UnknownFactory("nope".into())))
    );
    // Echo's factory takes `()`: a string is not that... postcard encodes `()` as nothing,
    // so trailing bytes are the tell.
    let bad = a
        .actors()
        .spawn_remote(&name(&b), ECHO_FACTORY, &"junk", WAIT)
        .await;
    assert!(
        matches!(bad, Err(SpawnError::Refused(SpawnRefusal::BadArgs(_)))),
        "{bad:?}"
    );
    let nowhere = NodeName::new("nowhere").unwrap();
    let down = a.actors().spawn_remote(&nowhere, ECHO_FACTORY, &(), WAIT).await;
    assert_eq!(down, Err(SpawnError::NodeDown(nowhere)));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn wrong_types_and_unknown_pids_are_refused_and_counted() {
    let (a, b) = pair().await;
    let echo = remote_echo(&a, &b).await;
    let wrong: Result<EchoReply, _> = a.actors().call(&echo, "not an EchoCall".to_owned(), WAIT).await;
    assert_eq!(
        wrong,
        Err(CallError::Refused(Refusal::WrongType {
            expected: "shoal.EchoCall".into()
        }))
    );
    a.actors().send(&echo, 5u64).unwrap();
    let ghost = Pid::new(b.local().id, 999_999);
    let missing: Result<EchoReply, _> = a.actors().call(&ghost, EchoCall::Received, WAIT).await;
    assert_eq!(missing, Err(CallError::NotDelivered(SendError::NoProc)));
    tokio::time::timeout(WAIT, async {
        while a.stats().actor_sends_refused_by_peers < 1 || b.stats().actor_messages_refused < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("refusals counted on both ends");
    // The echo is unharmed.
    let ok: EchoReply = a.actors().call(&echo, EchoCall::Received, WAIT).await.unwrap();
    assert_eq!(ok, EchoReply::Received(0));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn remote_monitors_see_crashes_normal_exits_and_node_down() {
    let (a, b) = pair().await;
    for (reason, expected) in [
        (ExitReason::Panic("oops".into()), ExitReason::Panic("oops".into())),
        (ExitReason::Normal, ExitReason::Normal),
    ] {
        let echo = remote_echo(&a, &b).await;
        let down = a.actors().monitor(&echo);
        a.actors().send(&echo, EchoMsg::Exit(reason)).unwrap();
        assert_eq!(tokio::time::timeout(WAIT, down).await.unwrap(), expected);
    }
    let ghost = Pid::new(b.local().id, 999_999);
    assert_eq!(
        tokio::time::timeout(WAIT, a.actors().monitor(&ghost))
            .await
            .unwrap(),
        ExitReason::NoProc
    );
    // Stopping node b: the monitor fires (`Shutdown` if b's actor said so before its links
    // closed, else `NodeDown`), and a call in flight fails at once rather than timing out.
    let echo = remote_echo(&a, &b).await;
    let down = a.actors().monitor(&echo);
    let in_flight = {
        let (a, echo) = (a.clone(), echo.clone());
        tokio::spawn(async move {
            a.actors()
                .call::<_, EchoReply>(&echo, EchoCall::Sleep(60_000), WAIT)
                .await
        })
    };
    // Wait until the echo on b is handling the call.
    tokio::time::timeout(WAIT, async {
        while b.actors().info(echo.id).map(|i| i.status) != Some(shoal_node::actor::ActorStatus::Running) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the call reaches b");
    b.shutdown().await;
    let reason = tokio::time::timeout(WAIT, down).await.unwrap();
    assert!(
        matches!(reason, ExitReason::NodeDown | ExitReason::Shutdown),
        "{reason:?}"
    );
    let call = in_flight.await.unwrap();
    assert!(
        matches!(
            call,
            Err(CallError::NodeDown(_) | CallError::Stopped(ExitReason::Shutdown))
        ),
        "{call:?}"
    );
    let after: Result<EchoReply, _> = a.actors().call(&echo, EchoCall::Received, WAIT).await;
    assert_eq!(after, Err(CallError::NotDelivered(SendError::NodeDown(name(&b)))));
    a.shutdown().await;
}

/// Spawns a [`Linker`] on `node` linked to `target` and waits until the link is made; returns
/// it with the receiver of what it reports.
async fn linked(
    node: &Node,
    target: &Pid,
    trap: bool,
) -> (shoal_node::actor::ActorRef<Linker>, UnboundedReceiver<String>) {
    let (seen, mut seen_rx) = mpsc::unbounded_channel();
    let linker = node.actors().spawn(Linker {
        target: target.clone(),
        trap,
        seen,
    });
    assert_eq!(seen_rx.recv().await.unwrap(), "linked");
    (linker, seen_rx)
}

/// Links to a pid on start, traps exits when asked, and reports signals.
struct Linker {
    target: Pid,
    trap: bool,
    seen: mpsc::UnboundedSender<String>,
}

impl Actor for Linker {
    type Msg = ExitReasonMsg;
    type Call = Never;
    type Reply = Never;

    async fn started(&mut self, ctx: &mut Ctx<Self>) -> Result<(), ActorError> {
        ctx.trap_exits(self.trap);
        ctx.link(&self.target);
        let _ = self.seen.send("linked".into());
        Ok(())
    }

    async fn handle(&mut self, ctx: &mut Ctx<Self>, msg: ExitReasonMsg) -> Result<(), ActorError> {
        ctx.stop(msg.0);
        Ok(())
    }

    async fn handle_signal(&mut self, _ctx: &mut Ctx<Self>, signal: Signal) -> Result<(), ActorError> {
        if let Signal::Exit { reason, .. } = signal {
            let _ = self.seen.send(format!("exit:{reason}"));
        }
        Ok(())
    }
}

/// Asks a [`Linker`] to stop with a reason.
struct ExitReasonMsg(ExitReason);

#[tokio::test]
async fn links_propagate_exits_both_ways_across_nodes() {
    let (a, b) = pair().await;
    // Remote failure -> local linked actor dies with the same reason.
    let echo = remote_echo(&a, &b).await;
    let (linker, _seen) = linked(&a, &echo, false).await;
    let linker_down = a.actors().monitor(linker.pid());
    // The Link frame travels ahead of the Exit message on the same link.
    a.actors()
        .send(&echo, EchoMsg::Exit(ExitReason::Error("remote".into())))
        .unwrap();
    assert_eq!(
        tokio::time::timeout(WAIT, linker_down).await.unwrap(),
        ExitReason::Error("remote".into())
    );

    // Local failure -> remote linked echo dies too.
    let echo = remote_echo(&a, &b).await;
    let (linker, _seen) = linked(&a, &echo, false).await;
    let echo_down = a.actors().monitor(&echo);
    linker
        .send(ExitReasonMsg(ExitReason::Error("local".into())))
        .unwrap();
    assert_eq!(
        tokio::time::timeout(WAIT, echo_down).await.unwrap(),
        ExitReason::Error("local".into())
    );

    // Trapping: the remote exit arrives as a signal and the linker lives on; the node going
    // down arrives as a NodeDown exit.
    let echo = remote_echo(&a, &b).await;
    let (linker, mut seen_rx) = linked(&a, &echo, true).await;
    a.actors()
        .send(&echo, EchoMsg::Exit(ExitReason::Shutdown))
        .unwrap();
    assert_eq!(seen_rx.recv().await.unwrap(), "exit:shutdown");
    let echo = remote_echo(&a, &b).await;
    let (_linker2, mut seen_rx) = linked(&a, &echo, true).await;
    b.shutdown().await;
    let got = tokio::time::timeout(WAIT, seen_rx.recv()).await.unwrap().unwrap();
    assert_eq!(got, "exit:node down");
    assert!(linker.is_alive());
    a.shutdown().await;
}

#[tokio::test]
async fn a_message_over_the_frame_limit_is_refused_at_the_sender_and_the_link_stays_up() {
    let (a, b) = pair().await;
    let echo = remote_echo(&a, &b).await;
    let huge = Bytes::from(vec![0u8; shoal_proto::wire::DEFAULT_MAX_FRAME_LEN + 1]);
    let sent = a.actors().send(&echo, EchoMsg::Data(huge.clone()));
    assert!(
        matches!(sent, Err(SendError::TooLarge { max, .. }) if max == shoal_proto::wire::DEFAULT_MAX_FRAME_LEN),
        "{sent:?}"
    );
    let called: Result<EchoReply, _> = a.actors().call(&echo, EchoCall::Echo(huge), WAIT).await;
    assert!(
        matches!(called, Err(CallError::NotDelivered(SendError::TooLarge { .. }))),
        "{called:?}"
    );
    // Nothing reached the peer, and the link still carries calls.
    let count: EchoReply = a.actors().call(&echo, EchoCall::Received, WAIT).await.unwrap();
    assert_eq!(count, EchoReply::Received(0));
    a.shutdown().await;
    b.shutdown().await;
}

/// Answers a call with as many bytes as it asks for.
struct Inflater;

#[derive(serde::Serialize, serde::Deserialize)]
struct Inflate(usize);

impl RemoteMessage for Inflate {
    const TAG: &'static str = "test.Inflate";
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Inflated(Bytes);

impl RemoteMessage for Inflated {
    const TAG: &'static str = "test.Inflated";
}

impl Actor for Inflater {
    type Msg = Never;
    type Call = Inflate;
    type Reply = Inflated;

    async fn handle(&mut self, _ctx: &mut Ctx<Self>, msg: Never) -> Result<(), ActorError> {
        match msg {}
    }

    async fn handle_call(&mut self, _ctx: &mut Ctx<Self>, call: Inflate) -> Result<Inflated, ActorError> {
        Ok(Inflated(Bytes::from(vec![1u8; call.0])))
    }

    fn codec() -> Option<Codec<Self>> {
        Some(Codec::serde())
    }
}

#[tokio::test]
async fn a_reply_over_the_frame_limit_fails_the_call_at_once_instead_of_timing_out() {
    let (a, b) = pair().await;
    let inflater = b.actors().spawn(Inflater);
    let huge = shoal_proto::wire::DEFAULT_MAX_FRAME_LEN + 1;
    // A reply lost to the frame limit would end in `Timeout`.
    let called: Result<Inflated, _> = a.actors().call(inflater.pid(), Inflate(huge), WAIT).await;
    assert!(
        matches!(&called, Err(CallError::Refused(Refusal::BadReply(why))) if why.contains("frame limit")),
        "{called:?}"
    );
    let small: Inflated = a.actors().call(inflater.pid(), Inflate(3), WAIT).await.unwrap();
    assert_eq!(small.0.len(), 3);
    a.shutdown().await;
    b.shutdown().await;
}
