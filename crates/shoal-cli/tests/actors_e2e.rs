//! Actors across real processes: this test process runs a node that joins a `shoal node`
//! child process, then calls, monitors, links and spawns actors on it. Waits are on
//! conditions with generous deadlines.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use nix::sys::signal::Signal as OsSignal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shoal_node::actor::{
    Actor, ActorError, CallError, Children, Ctx, ECHO_FACTORY, ECHO_SIZED_FACTORY, ECHO_SUPERVISOR_FACTORY,
    EchoCall, EchoMsg, EchoReply, EchoSupervisorArgs, ExitReason, Never, Pid, Refusal, RemoteMessage,
    SendError, SpawnError, SpawnRefusal, Strategy, SupervisorCall,
};
use shoal_node::{Node, NodeBuilder, NodeName};
use shoal_proto::MembershipConfig;
use shoal_testkit::{NodeProcess, http_get, http_post, wait_until};
use tokio::sync::mpsc::{self, UnboundedReceiver};

const WAIT: Duration = Duration::from_secs(20);
const TOKEN: &str = "e2e-admin-token";

fn cookie(test: &str) -> String {
    format!("{test}-{}-{}", std::process::id(), shoal_node::now_us())
}

/// A `shoal node` child process and an in-process node linked to it.
struct Pair {
    child: NodeProcess,
    probe: Node,
    child_name: NodeName,
}

async fn pair(test: &str) -> Pair {
    pair_with(test, &[], |probe| probe).await
}

/// [`pair`], with more flags for the child and the probe's builder adjusted by `configure`.
async fn pair_with(
    test: &str,
    child_args: &[&str],
    configure: impl FnOnce(NodeBuilder) -> NodeBuilder,
) -> Pair {
    let cookie = cookie(test);
    let bin = Path::new(env!("CARGO_BIN_EXE_shoal"));
    let args = [
        "--cookie",
        &cookie,
        "--discovery",
        "static",
        "--admin-token",
        TOKEN,
    ];
    let args: Vec<&str> = args.iter().chain(child_args).copied().collect();
    let child = NodeProcess::spawn(bin, &format!("{test}-child"), &args).unwrap();
    let probe = Node::builder()
        .name(&format!("{test}-probe"))
        .cookie(cookie.as_str())
        .seeds([child.ready.listen.to_string()]);
    let probe = configure(probe).start().await.unwrap();
    tokio::time::timeout(WAIT, async {
        while !probe.members().iter().any(|m| m.linked) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the probe links to the child");
    let child_name = NodeName::new(format!("{test}-child")).unwrap();
    Pair {
        child,
        probe,
        child_name,
    }
}

impl Pair {
    async fn echo(&self) -> Pid {
        self.probe
            .actors()
            .spawn_remote(&self.child_name, ECHO_FACTORY, &(), WAIT)
            .await
            .unwrap()
    }

    async fn call(&self, pid: &Pid, call: EchoCall) -> Result<EchoReply, CallError> {
        self.probe.actors().call(pid, call, WAIT).await
    }

    fn api(&self, path: &str) -> Value {
        let (status, body) = http_get(self.child.ready.http.unwrap(), path).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }
}

async fn down_within(down: shoal_node::actor::DownFuture) -> ExitReason {
    tokio::time::timeout(WAIT, down)
        .await
        .expect("Down within the deadline")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_round_trips_to_another_process_and_monitors_see_each_exit() {
    let pair = pair("rtt").await;
    let echo = pair.echo().await;
    let reply = pair
        .call(&echo, EchoCall::Echo(Bytes::from_static(b"hello")))
        .await;
    assert_eq!(reply, Ok(EchoReply::Echo(Bytes::from_static(b"hello"))));
    for (exit, expected) in [
        (
            ExitReason::Error("crash".into()),
            ExitReason::Error("crash".into()),
        ),
        (ExitReason::Panic("bug".into()), ExitReason::Panic("bug".into())),
        (ExitReason::Normal, ExitReason::Normal),
    ] {
        let echo = pair.echo().await;
        let down = pair.probe.actors().monitor(&echo);
        pair.probe.actors().send(&echo, EchoMsg::Exit(exit)).unwrap();
        assert_eq!(down_within(down).await, expected);
    }
    pair.probe.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_to_a_stalled_node_are_refused_as_busy_and_send_wait_goes_on_once_it_drains() {
    // Patient failure detection on both sides: the child is stopped while the link fills;
    // neither may take the other for dead meanwhile, or on the child's resume.
    let patient = MembershipConfig {
        probe_period: Duration::from_secs(10),
        suspect_to_down_after: Duration::from_secs(60),
        link_suspect_after: Duration::from_secs(30),
        link_down_after: Duration::from_secs(60),
        ..MembershipConfig::lan()
    };
    let child = [
        "--probe-period-ms",
        "10000",
        "--link-suspect-ms",
        "30000",
        "--link-down-ms",
        "60000",
    ];
    let pair = pair_with("busy", &child, |probe| {
        probe.link_busy_limit(256 * 1024).membership(patient)
    })
    .await;
    let sink = pair
        .probe
        .actors()
        .spawn_remote(&pair.child_name, ECHO_SIZED_FACTORY, &(1u32 << 20), WAIT)
        .await
        .unwrap();
    let data = || EchoMsg::Data(Bytes::from(vec![7u8; 1024]));
    pair.child.signal(OsSignal::SIGSTOP).unwrap();
    // The socket buffers fill, then the link's buffer, and then `send_wait` waits. After a
    // second without progress a plain send must be refused (on a loaded machine the link
    // may merely have been slow: then filling goes on). A million KiB is far more than fits.
    let mut sent = 0u64;
    let busy = loop {
        assert!(
            sent < 1 << 20,
            "a million sends to a stopped node were all queued"
        );
        let send = pair.probe.actors().send_wait(&sink, data());
        if let Ok(sent_one) = tokio::time::timeout(Duration::from_secs(1), send).await {
            sent_one.unwrap();
            sent += 1;
            continue;
        }
        match pair.probe.actors().send(&sink, data()) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
    };
    assert!(
        matches!(&busy, SendError::LinkBusy { node, limit: 262_144 } if *node == pair.child_name),
        "{busy}"
    );
    // Both wait for the link to drain instead of failing; polled once each here, so the
    // send is queued before the call.
    let actors = pair.probe.actors();
    let mut waiting = std::pin::pin!(actors.send_wait(&sink, data()));
    let mut counted = std::pin::pin!(actors.call(&sink, EchoCall::Received, WAIT));
    assert!(
        futures_util::poll!(&mut waiting).is_pending(),
        "send_wait on a busy link"
    );
    assert!(
        futures_util::poll!(&mut counted).is_pending(),
        "a call on a busy link"
    );
    pair.child.signal(OsSignal::SIGCONT).unwrap();
    waiting.await.unwrap();
    assert_eq!(counted.await, Ok(EchoReply::Received(sent + 1)));
    // Nothing queued was lost, and the link stayed up.
    assert_eq!(
        pair.call(&sink, EchoCall::Received).await,
        Ok(EchoReply::Received(sent + 1))
    );
    pair.probe.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_full_both_ways_keeps_reading_while_it_writes() {
    // 64 concurrent calls of 256 KiB to an echo, answered with the same bytes, plus one-way
    // sends: 16 MiB each way at once, far more than both sockets' buffers hold. A link that
    // stops reading while a write blocks deadlocks here (both sides wait in `write_all`), the
    // heartbeats stall and the calls fail.
    let pair = pair("blast").await;
    let echo = pair
        .probe
        .actors()
        .spawn_remote(&pair.child_name, ECHO_SIZED_FACTORY, &(1u32 << 20), WAIT)
        .await
        .unwrap();
    let payload = |i: u8| Bytes::from(vec![i; 256 * 1024]);
    let actors = pair.probe.actors();
    let calls = (0..64u8).map(|i| {
        let actors = actors.clone();
        let echo = echo.clone();
        tokio::spawn(async move { (i, actors.call(&echo, EchoCall::Echo(payload(i)), WAIT).await) })
    });
    let calls: Vec<_> = calls.collect();
    let sends = 256u64;
    for _ in 0..sends {
        let data = EchoMsg::Data(Bytes::from(vec![1u8; 64 * 1024]));
        actors.send_wait(&echo, data).await.unwrap();
    }
    for call in calls {
        let (i, reply) = call.await.unwrap();
        assert_eq!(reply, Ok(EchoReply::Echo(payload(i))), "call {i}");
    }
    assert_eq!(
        pair.call(&echo, EchoCall::Received).await,
        Ok(EchoReply::Received(sends))
    );
    pair.probe.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_node_fires_node_down_for_its_monitors_links_and_calls() {
    let pair = pair("kill9").await;
    let echo = pair.echo().await;
    let down = pair.probe.actors().monitor(&echo);
    let (linker, mut seen_rx) = linked(&pair.probe, &echo, true).await;
    let in_flight = {
        let (probe, echo) = (pair.probe.clone(), echo.clone());
        tokio::spawn(async move {
            probe
                .actors()
                .call::<_, EchoReply>(&echo, EchoCall::Sleep(600_000), WAIT)
                .await
        })
    };
    // The call is in the echo's hands once the child's API shows it running.
    let running = wait_until(WAIT, || {
        let actor = pair.api(&format!("/api/actors/{}", echo.id));
        (actor["status"] == "running").then_some(())
    });
    assert!(running.is_some(), "the echo never started the slow call");
    pair.child.signal(OsSignal::SIGKILL).unwrap();
    assert_eq!(down_within(down).await, ExitReason::NodeDown);
    let call = tokio::time::timeout(WAIT, in_flight).await.unwrap().unwrap();
    assert_eq!(call, Err(CallError::NodeDown(pair.child_name.clone())));
    let exit = tokio::time::timeout(WAIT, seen_rx.recv()).await.unwrap().unwrap();
    assert_eq!(exit, "exit:node down");
    assert!(linker.is_alive());
    pair.probe.shutdown().await;
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

/// Links to a pid on start, traps exits when asked, and reports what it sees.
struct Linker {
    target: Pid,
    trap: bool,
    seen: tokio::sync::mpsc::UnboundedSender<String>,
}

impl Actor for Linker {
    type Msg = ExitReason;
    type Call = Never;
    type Reply = Never;

    async fn started(&mut self, ctx: &mut Ctx<Self>) -> Result<(), ActorError> {
        ctx.trap_exits(self.trap);
        ctx.link(&self.target);
        let _ = self.seen.send("linked".into());
        Ok(())
    }

    async fn handle(&mut self, ctx: &mut Ctx<Self>, reason: ExitReason) -> Result<(), ActorError> {
        ctx.stop(reason);
        Ok(())
    }

    async fn handle_signal(
        &mut self,
        _ctx: &mut Ctx<Self>,
        signal: shoal_node::actor::Signal,
    ) -> Result<(), ActorError> {
        if let shoal_node::actor::Signal::Exit { reason, .. } = signal {
            let _ = self.seen.send(format!("exit:{reason}"));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_carry_exits_both_ways_between_processes() {
    let pair = pair("links").await;
    // The child's echo fails: the linked local actor fails with the same reason.
    let echo = pair.echo().await;
    let (linker, _seen) = linked(&pair.probe, &echo, false).await;
    let linker_down = pair.probe.actors().monitor(linker.pid());
    pair.probe
        .actors()
        .send(&echo, EchoMsg::Exit(ExitReason::Error("far".into())))
        .unwrap();
    assert_eq!(down_within(linker_down).await, ExitReason::Error("far".into()));
    // The local actor fails: the linked echo in the child process fails with it.
    let echo = pair.echo().await;
    // Monitored before the link exists: a monitor set up after it could reach the child
    // after the exit (a Down of `NoProc`, as in Erlang: the two come from different senders).
    let echo_down = pair.probe.actors().monitor(&echo);
    let (linker, _seen) = linked(&pair.probe, &echo, false).await;
    linker.send(ExitReason::Error("near".into())).unwrap();
    assert_eq!(down_within(echo_down).await, ExitReason::Error("near".into()));
    pair.probe.shutdown().await;
}

async fn children(pair: &Pair, sup: &Pid) -> Vec<Option<Pid>> {
    let Children(children) = pair
        .probe
        .actors()
        .call(sup, SupervisorCall::WhichChildren, WAIT)
        .await
        .unwrap();
    children.into_iter().map(|c| c.pid).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_in_another_process_restart_by_strategy_and_give_up_past_intensity() {
    let pair = pair("sup").await;
    for (strategy, changed) in [
        (Strategy::OneForOne, vec![1]),
        (Strategy::OneForAll, vec![0, 1, 2]),
        (Strategy::RestForOne, vec![1, 2]),
    ] {
        let args = EchoSupervisorArgs {
            strategy,
            children: 3,
            max_restarts: 3,
            within_ms: 5_000,
        };
        let sup = pair
            .probe
            .actors()
            .spawn_remote(&pair.child_name, ECHO_SUPERVISOR_FACTORY, &args, WAIT)
            .await
            .unwrap();
        let before = children(&pair, &sup).await;
        let victim = before[1].clone().unwrap();
        let exit = EchoMsg::Exit(ExitReason::Error("injected".into()));
        pair.probe.actors().send(&victim, exit).unwrap();
        let mut after = Vec::new();
        for _ in 0..2000 {
            after = children(&pair, &sup).await;
            let done = after
                .iter()
                .enumerate()
                .all(|(i, pid)| pid.is_some() && (changed.contains(&i) != (*pid == before[i])));
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            after
                .iter()
                .enumerate()
                .all(|(i, pid)| pid.is_some() && (changed.contains(&i) != (*pid == before[i]))),
            "{strategy:?}: before {before:?}, after {after:?}"
        );
        // The child's API shows the tree: the supervisor's children are the live pids.
        let detail = pair.api(&format!("/api/actors/{}", sup.id));
        assert_eq!(detail["children"].as_array().unwrap().len(), 3, "{detail}");
    }
    // Intensity: two restarts allowed; the third failure stops the supervisor.
    let args = EchoSupervisorArgs {
        strategy: Strategy::OneForOne,
        children: 1,
        max_restarts: 2,
        within_ms: 60_000,
    };
    let sup = pair
        .probe
        .actors()
        .spawn_remote(&pair.child_name, ECHO_SUPERVISOR_FACTORY, &args, WAIT)
        .await
        .unwrap();
    let sup_down = pair.probe.actors().monitor(&sup);
    let mut last = None;
    for _ in 0..3 {
        let child = wait_child(&pair, &sup, last.as_ref()).await;
        let exit = EchoMsg::Exit(ExitReason::Error("again".into()));
        pair.probe.actors().send(&child, exit).unwrap();
        last = Some(child);
    }
    assert_eq!(down_within(sup_down).await, ExitReason::MaxRestarts);
    pair.probe.shutdown().await;
}

/// Waits until the supervisor's only child is running and is not `previous`.
async fn wait_child(pair: &Pair, sup: &Pid, previous: Option<&Pid>) -> Pid {
    for _ in 0..4000 {
        if let Some(pid) = children(pair, sup).await.remove(0)
            && Some(&pid) != previous
        {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the supervisor never restarted its child");
}

/// Same tag as `EchoMsg`, different layout: the body cannot decode as an `EchoMsg`.
#[derive(Serialize, Deserialize)]
struct Impostor(u32, u32, u32);

impl RemoteMessage for Impostor {
    const TAG: &'static str = "shoal.EchoMsg";
}

/// Same tag as `EchoCall`, different layout.
#[derive(Serialize, Deserialize)]
struct ImpostorCall(u32, u32, u32);

impl RemoteMessage for ImpostorCall {
    const TAG: &'static str = "shoal.EchoCall";
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_spawn_errors_and_undecodable_messages_are_refused_without_harm() {
    let pair = pair("refuse").await;
    let actors = pair.probe.actors();
    let unknown = actors.spawn_remote(&pair.child_name, "no.such", &(), WAIT).await;
    assert_eq!(
        unknown,
        Err(SpawnError::Refused(SpawnRefusal::UnknownFactory(
            "no.such".into()
        )))
    );
    let bad = actors
        .spawn_remote(&pair.child_name, ECHO_SUPERVISOR_FACTORY, &7u8, WAIT)
        .await;
    assert!(
        matches!(bad, Err(SpawnError::Refused(SpawnRefusal::BadArgs(_)))),
        "{bad:?}"
    );

    let echo = pair.echo().await;
    for _ in 0..1000 {
        actors.send(&echo, Impostor(u32::MAX, 1, 2)).unwrap();
        actors.send(&echo, "wrong type".to_owned()).unwrap();
        actors
            .send(&Pid::new(echo.node.clone(), 987_654), EchoMsg::Data(Bytes::new()))
            .unwrap();
    }
    let refused: Result<EchoReply, _> = actors.call(&echo, ImpostorCall(9, 9, 9), WAIT).await;
    assert!(
        matches!(refused, Err(CallError::Refused(Refusal::BadBody(_)))),
        "{refused:?}"
    );
    // The node still answers at once, and counted every refusal.
    assert_eq!(
        pair.call(&echo, EchoCall::Received).await,
        Ok(EchoReply::Received(0))
    );
    let counted = wait_until(WAIT, || {
        let n = pair.api("/api/node")["stats"]["actor_messages_refused"].as_u64()?;
        (n >= 3001).then_some(n)
    });
    assert!(counted.is_some(), "{}", pair.api("/api/node"));
    assert!(pair.probe.stats().actor_sends_refused_by_peers >= 1);
    pair.probe.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_api_lists_actors_and_kills_only_with_the_admin_token() {
    let pair = pair("http").await;
    let echo = pair.echo().await;
    let list = pair.api("/api/actors");
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["pid"]["id"] == echo.id)
        .unwrap()
        .clone();
    assert_eq!(entry["name"], ECHO_FACTORY);
    assert_eq!(entry["pid_text"], echo.to_string());
    for key in [
        "type_name",
        "status",
        "mailbox_depth",
        "handled",
        "restarts",
        "uptime_ms",
        "parent",
    ] {
        assert!(entry.get(key).is_some(), "missing {key} in {entry}");
    }
    let http = pair.child.ready.http.unwrap();
    let path = format!("/api/actors/{}/kill", echo);
    assert_eq!(http_post(http, &path, None).unwrap().0, 401);
    assert_eq!(http_post(http, &path, Some("wrong")).unwrap().0, 403);
    let down = pair.probe.actors().monitor(&echo);
    // A call travels behind the monitor on the same link: once answered, the monitor is set.
    assert!(pair.call(&echo, EchoCall::Received).await.is_ok());
    let (status, body) = http_post(http, &path, Some(TOKEN)).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(down_within(down).await, ExitReason::Killed);
    assert_eq!(
        http_get(http, &format!("/api/actors/{}", echo.id)).unwrap().0,
        404
    );
    pair.probe.shutdown().await;
}
