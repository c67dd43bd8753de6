//! The actor runtime without sockets (a standalone actor system): mailboxes, ordering, calls,
//! monitors, links, supervision.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use shoal_node::actor::{
    Actor, ActorError, CallError, ChildSpec, Ctx, Echo, EchoCall, EchoMsg, EchoReply, ExitReason, Never,
    Restart, SendError, Signal, SpawnOptions, Strategy, Supervisor, SupervisorCall,
};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

/// A standalone actor system: no node, no sockets.
struct Solo(shoal_node::actor::Actors);

impl Solo {
    fn actors(&self) -> &shoal_node::actor::Actors {
        &self.0
    }

    async fn shutdown(&self) {
        self.0.stop_all(WAIT).await;
    }
}

async fn node() -> Solo {
    Solo(shoal_node::actor::Actors::standalone(
        shoal_node::NodeName::new("solo").unwrap(),
    ))
}

/// Records every message and signal it gets, in order.
struct Recorder {
    seen: mpsc::UnboundedSender<String>,
    gate: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Recorder {
    fn new() -> (Self, mpsc::UnboundedReceiver<String>) {
        let (seen, rx) = mpsc::unbounded_channel();
        (Self { seen, gate: None }, rx)
    }
}

impl Actor for Recorder {
    type Msg = String;
    type Call = String;
    type Reply = String;

    async fn started(&mut self, ctx: &mut Ctx<Self>) -> Result<(), ActorError> {
        ctx.trap_exits(true);
        if let Some(gate) = self.gate.take() {
            let _ = gate.await;
        }
        Ok(())
    }

    async fn handle(&mut self, ctx: &mut Ctx<Self>, msg: String) -> Result<(), ActorError> {
        match msg.as_str() {
            "fail" => return Err(ActorError::new("asked to fail")),
            "panic" => panic!("asked to panic"),
            "stop" => ctx.stop(ExitReason::Normal),
            "kill" => ctx.actors().kill(&ctx.pid().clone()).unwrap(),
            _ => {}
        }
        let _ = self.seen.send(msg);
        Ok(())
    }

    async fn handle_call(&mut self, _ctx: &mut Ctx<Self>, call: String) -> Result<String, ActorError> {
        if call == "hang" {
            std::future::pending::<()>().await;
        }
        Ok(call.to_uppercase())
    }

    async fn handle_signal(&mut self, _ctx: &mut Ctx<Self>, signal: Signal) -> Result<(), ActorError> {
        let text = match signal {
            Signal::Down { reason, .. } => format!("down:{reason}"),
            Signal::Exit { reason, .. } => format!("exit:{reason}"),
            other => format!("{other:?}"),
        };
        let _ = self.seen.send(text);
        Ok(())
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(WAIT, rx.recv()).await.unwrap().unwrap()
}

#[tokio::test]
async fn messages_from_one_sender_arrive_in_order_and_calls_answer() {
    let node = node().await;
    let (recorder, mut seen) = Recorder::new();
    let actor = node.actors().spawn(recorder);
    for i in 0..500 {
        actor.send_wait(i.to_string()).await.unwrap();
    }
    for i in 0..500 {
        assert_eq!(next(&mut seen).await, i.to_string());
    }
    assert_eq!(actor.call("hi".into(), WAIT).await.unwrap(), "HI");
    let by_pid: String = node
        .actors()
        .call(actor.pid(), "pid".to_owned(), WAIT)
        .await
        .unwrap();
    assert_eq!(by_pid, "PID");
    // A call by pid with the wrong type is refused, not mis-delivered.
    let wrong: Result<String, _> = node.actors().call(actor.pid(), 7u64, WAIT).await;
    assert!(
        matches!(wrong, Err(CallError::NotDelivered(SendError::WrongType(_)))),
        "{wrong:?}"
    );
    node.shutdown().await;
}

/// A recorder with a mailbox of `capacity` that handles nothing until `open` is sent: what is
/// sent meanwhile stays in its mailbox.
fn spawn_gated(
    node: &Solo,
    capacity: usize,
) -> (
    shoal_node::actor::ActorRef<Recorder>,
    mpsc::UnboundedReceiver<String>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (mut recorder, seen) = Recorder::new();
    let (open, gate) = tokio::sync::oneshot::channel();
    recorder.gate = Some(gate);
    let options = SpawnOptions::default().capacity(capacity);
    (node.actors().spawn_with(recorder, options), seen, open)
}

#[tokio::test]
async fn a_full_mailbox_refuses_at_once_and_counts_the_drop() {
    let node = node().await;
    let (actor, _seen, open) = spawn_gated(&node, 2);
    actor.send("1".into()).unwrap();
    actor.send("2".into()).unwrap();
    assert_eq!(actor.send("3".into()), Err(SendError::MailboxFull));
    let call = actor.call("x".into(), WAIT).await;
    assert_eq!(call, Err(CallError::NotDelivered(SendError::MailboxFull)));
    let info = node.actors().info(actor.pid().id).unwrap();
    assert_eq!((info.mailbox_depth, info.dropped), (2, 2));
    open.send(()).unwrap();
    node.shutdown().await;
}

/// A kill must not wait for the mailbox to empty: here thousands of messages wait behind it.
#[tokio::test]
async fn a_kill_stops_an_actor_at_once_though_its_mailbox_is_full() {
    let node = node().await;
    let (actor, mut seen, open) = spawn_gated(&node, 5000);
    actor.send("kill".into()).unwrap();
    for i in 0..4000 {
        actor.send(i.to_string()).unwrap();
    }
    let down = node.actors().monitor(actor.pid());
    open.send(()).unwrap();
    assert_eq!(
        tokio::time::timeout(WAIT, down).await.unwrap(),
        ExitReason::Killed
    );
    let mut handled_after_kill = 0;
    while seen.try_recv().is_ok() {
        handled_after_kill += 1;
    }
    // The runtime checks for a kill every 64 messages.
    assert!(
        handled_after_kill <= 64,
        "{handled_after_kill} messages handled after the kill"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn calls_fail_clearly_on_timeout_unknown_pid_and_a_crash() {
    let node = node().await;
    let (recorder, _seen) = Recorder::new();
    let actor = node.actors().spawn(recorder);
    let short = Duration::from_millis(50);
    assert_eq!(
        actor.call("hang".into(), short).await,
        Err(CallError::Timeout(short))
    );

    let echo = node.actors().spawn(Echo::default());
    let pid = echo.pid().clone();
    echo.send(EchoMsg::Exit(ExitReason::Error("boom".into())))
        .unwrap();
    assert_eq!(
        node.actors().monitor(&pid).await,
        ExitReason::Error("boom".into())
    );
    let gone: Result<EchoReply, _> = node.actors().call(&pid, EchoCall::Received, WAIT).await;
    assert_eq!(gone, Err(CallError::NotDelivered(SendError::NoProc)));
    node.shutdown().await;
}

#[tokio::test]
async fn errors_and_panics_stop_the_actor_with_that_reason() {
    let node = node().await;
    for (msg, reason) in [
        ("fail", ExitReason::Error("asked to fail".into())),
        ("panic", ExitReason::Panic("asked to panic".into())),
        ("stop", ExitReason::Normal),
    ] {
        let (recorder, _seen) = Recorder::new();
        let actor = node.actors().spawn(recorder);
        let down = node.actors().monitor(actor.pid());
        actor.send(msg.into()).unwrap();
        assert_eq!(tokio::time::timeout(WAIT, down).await.unwrap(), reason);
        assert!(node.actors().info(actor.pid().id).is_none());
    }
    node.shutdown().await;
}

/// Links to (and optionally monitors) a pid when it starts.
struct Linker {
    target: shoal_node::actor::Pid,
    trap: bool,
    seen: Option<mpsc::UnboundedSender<String>>,
}

impl Actor for Linker {
    type Msg = Never;
    type Call = Never;
    type Reply = Never;

    async fn started(&mut self, ctx: &mut Ctx<Self>) -> Result<(), ActorError> {
        ctx.trap_exits(self.trap);
        ctx.monitor(&self.target);
        ctx.link(&self.target);
        Ok(())
    }

    async fn handle(&mut self, _: &mut Ctx<Self>, msg: Never) -> Result<(), ActorError> {
        match msg {}
    }

    async fn handle_signal(&mut self, _ctx: &mut Ctx<Self>, signal: Signal) -> Result<(), ActorError> {
        let text = match signal {
            Signal::Down { reason, .. } => format!("down:{reason}"),
            Signal::Exit { reason, .. } => format!("exit:{reason}"),
            other => format!("{other:?}"),
        };
        if let Some(seen) = &self.seen {
            let _ = seen.send(text);
        }
        Ok(())
    }
}

/// Waits until `pid` has run its `started` hook (a linker has linked by then).
async fn wait_started(actors: &shoal_node::actor::Actors, pid: &shoal_node::actor::Pid) {
    tokio::time::timeout(WAIT, async {
        while actors.info(pid.id).unwrap().status == shoal_node::actor::ActorStatus::Starting {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn monitors_fire_once_and_links_propagate_or_are_trapped() {
    let node = node().await;
    let actors = node.actors();
    // Untrapped: a failing linked actor takes the linker down with the same reason.
    let echo = actors.spawn(Echo::default());
    let linker = actors.spawn(Linker {
        target: echo.pid().clone(),
        trap: false,
        seen: None,
    });
    let linker_down = actors.monitor(linker.pid());
    wait_started(actors, linker.pid()).await;
    echo.send(EchoMsg::Exit(ExitReason::Error("bad".into()))).unwrap();
    assert_eq!(
        tokio::time::timeout(WAIT, linker_down).await.unwrap(),
        ExitReason::Error("bad".into())
    );
    // Monitoring a dead pid says NoProc at once.
    assert_eq!(actors.monitor(echo.pid()).await, ExitReason::NoProc);

    // Trapped: the exit and the monitor's Down arrive as signals, once each.
    let (seen, mut seen_rx) = mpsc::unbounded_channel();
    let echo = actors.spawn(Echo::default());
    let linker = actors.spawn(Linker {
        target: echo.pid().clone(),
        trap: true,
        seen: Some(seen),
    });
    wait_started(actors, linker.pid()).await;
    echo.send(EchoMsg::Exit(ExitReason::Shutdown)).unwrap();
    let mut got = vec![next(&mut seen_rx).await, next(&mut seen_rx).await];
    got.sort();
    assert_eq!(got, ["down:shutdown", "exit:shutdown"]);
    assert!(linker.is_alive());

    // A normal exit does not take down a linked, non-trapping actor.
    let echo = actors.spawn(Echo::default());
    let linker = actors.spawn(Linker {
        target: echo.pid().clone(),
        trap: false,
        seen: None,
    });
    let echo_down = actors.monitor(echo.pid());
    wait_started(actors, linker.pid()).await;
    echo.send(EchoMsg::Exit(ExitReason::Normal)).unwrap();
    assert_eq!(echo_down.await, ExitReason::Normal);
    assert!(linker.is_alive());
    node.shutdown().await;
}

/// A child that counts its starts and fails on request.
struct Worker {
    starts: Arc<AtomicU32>,
}

impl Actor for Worker {
    type Msg = ExitReason;
    type Call = u32;
    type Reply = u32;

    async fn started(&mut self, _ctx: &mut Ctx<Self>) -> Result<(), ActorError> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn handle(&mut self, ctx: &mut Ctx<Self>, reason: ExitReason) -> Result<(), ActorError> {
        ctx.stop(reason);
        Ok(())
    }

    async fn handle_call(&mut self, _ctx: &mut Ctx<Self>, n: u32) -> Result<u32, ActorError> {
        Ok(n)
    }
}

fn worker_spec(id: &str, starts: &Arc<AtomicU32>) -> ChildSpec {
    let starts = starts.clone();
    ChildSpec::new(id, move || Worker {
        starts: starts.clone(),
    })
}

async fn children(
    node: &Solo,
    sup: &shoal_node::actor::ActorRef<Supervisor>,
) -> Vec<Option<shoal_node::actor::Pid>> {
    let _ = node;
    sup.call(SupervisorCall::WhichChildren, WAIT)
        .await
        .unwrap()
        .0
        .into_iter()
        .map(|c| c.pid)
        .collect()
}

/// Waits until the supervisor reports a new pid for every child in `changed` and the same
/// pid for the others.
async fn wait_restarted(
    node: &Solo,
    sup: &shoal_node::actor::ActorRef<Supervisor>,
    before: &[Option<shoal_node::actor::Pid>],
    changed: &[usize],
) -> Vec<Option<shoal_node::actor::Pid>> {
    tokio::time::timeout(WAIT, async {
        loop {
            let now = children(node, sup).await;
            let ok = now
                .iter()
                .enumerate()
                .all(|(i, pid)| pid.is_some() && (changed.contains(&i) != (pid == &before[i])));
            if ok {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("children restarted as the strategy says")
}

#[tokio::test]
async fn each_strategy_restarts_the_children_it_names() {
    let node = node().await;
    for (strategy, fail_index, changed) in [
        (Strategy::OneForOne, 1, vec![1]),
        (Strategy::OneForAll, 1, vec![0, 1, 2]),
        (Strategy::RestForOne, 1, vec![1, 2]),
    ] {
        let starts = Arc::new(AtomicU32::new(0));
        let sup = Supervisor::new(strategy)
            .child(worker_spec("a", &starts))
            .child(worker_spec("b", &starts))
            .child(worker_spec("c", &starts));
        let sup = node.actors().spawn(sup);
        let before = wait_restarted(&node, &sup, &[None, None, None], &[0, 1, 2]).await;
        let victim = before[fail_index].clone().unwrap();
        let cell_down = node.actors().monitor(&victim);
        node.actors().kill(&victim).unwrap();
        assert_eq!(cell_down.await, ExitReason::Killed);
        let after = wait_restarted(&node, &sup, &before, &changed).await;
        // Introspection shows the tree: every child's parent is the supervisor.
        for pid in after.iter().flatten() {
            let info = node.actors().info(pid.id).unwrap();
            assert_eq!(info.parent.as_ref(), Some(sup.pid()), "{strategy:?}");
        }
        node.actors().stop(sup.pid(), ExitReason::Shutdown).unwrap();
    }
    node.shutdown().await;
}

#[tokio::test]
async fn restart_policies_decide_which_exits_restart() {
    let node = node().await;
    let starts = Arc::new(AtomicU32::new(0));
    let sup = Supervisor::new(Strategy::OneForOne)
        .child(worker_spec("permanent", &starts))
        .child(worker_spec("transient", &starts).restart(Restart::Transient))
        .child(worker_spec("temporary", &starts).restart(Restart::Temporary));
    let sup = node.actors().spawn(sup);
    let before = wait_restarted(&node, &sup, &[None, None, None], &[0, 1, 2]).await;
    // Normal exits: only the permanent child comes back.
    for pid in before.iter().flatten() {
        let down = node.actors().monitor(pid);
        node.actors().stop(pid, ExitReason::Normal).unwrap();
        assert_eq!(down.await, ExitReason::Normal);
    }
    let after = tokio::time::timeout(WAIT, async {
        loop {
            let now = children(&node, &sup).await;
            if now[0].is_some() && now[0] != before[0] {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!((after[1].clone(), after[2].clone()), (None, None));
    node.shutdown().await;
}

#[tokio::test]
async fn past_its_intensity_a_supervisor_fails_upward() {
    let node = node().await;
    let starts = Arc::new(AtomicU32::new(0));
    let inner = Supervisor::new(Strategy::OneForOne)
        .intensity(2, Duration::from_secs(60))
        .child(worker_spec("w", &starts));
    let inner_for_spec = inner.clone();
    let outer = Supervisor::new(Strategy::OneForOne)
        .intensity(0, Duration::from_secs(60))
        .child(ChildSpec::new("inner", move || inner_for_spec.clone()));
    let outer = node.actors().spawn(outer);
    let outer_down = node.actors().monitor(outer.pid());
    let inner_pid = wait_restarted(&node, &outer, &[None], &[0]).await[0]
        .clone()
        .unwrap();
    // Kill the worker three times: two restarts are allowed, the third failure stops the
    // inner supervisor with MaxRestarts; the outer one (intensity 0) then fails too.
    let inner_down = node.actors().monitor(&inner_pid);
    for _ in 0..3 {
        let worker = tokio::time::timeout(WAIT, async {
            loop {
                let found = node
                    .actors()
                    .list()
                    .into_iter()
                    .find(|i| i.parent.as_ref() == Some(&inner_pid) && i.name.as_deref() == Some("w"));
                if let Some(info) = found {
                    return info.pid;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await
        .unwrap();
        let down = node.actors().monitor(&worker);
        node.actors().kill(&worker).unwrap();
        down.await;
    }
    assert_eq!(
        tokio::time::timeout(WAIT, inner_down).await.unwrap(),
        ExitReason::MaxRestarts
    );
    assert_eq!(
        tokio::time::timeout(WAIT, outer_down).await.unwrap(),
        ExitReason::MaxRestarts
    );
    assert_eq!(starts.load(Ordering::SeqCst), 3);
    node.shutdown().await;
}
