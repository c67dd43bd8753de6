//! Local supervision: a supervisor actor starts its children linked to it, traps their exits
//! and restarts them by strategy and restart policy, within a restart intensity; past it,
//! the supervisor stops with `MaxRestarts`, which its own parent sees (OTP's rules).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use shoal_api::views::EventKind;
use shoal_proto::RemoteMessage;

use super::behaviour::Ctx;
use super::codec::Codec;
use super::options::SpawnOptions;
use super::{Actor, ActorError, ExitReason, Never, Pid, Signal};

/// Which children restart when one fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Strategy {
    /// Only the failed child.
    OneForOne,
    /// Every child: the others are stopped (in reverse start order), then all restart.
    OneForAll,
    /// The failed child and every child started after it.
    RestForOne,
}

/// When a child that stopped is restarted: the same type the distributed supervisor uses.
pub use shoal_proto::children::Restart;

type StartFn = dyn Fn(&Ctx<Supervisor>, u32) -> Pid + Send + Sync;

/// How to start one child, and when to restart it.
#[derive(Clone)]
pub struct ChildSpec {
    id: String,
    restart: Restart,
    start: Arc<StartFn>,
}

impl ChildSpec {
    /// A permanent child named `id`, built by `make` on every (re)start.
    pub fn new<A: Actor>(id: impl Into<String>, make: impl Fn() -> A + Send + Sync + 'static) -> Self {
        let id = id.into();
        let name = id.clone();
        let start = move |ctx: &Ctx<Supervisor>, restarts| {
            let options = SpawnOptions {
                name: Some(name.clone()),
                restarts,
                ..SpawnOptions::default()
            };
            ctx.spawn_child(make(), options).pid().clone()
        };
        Self {
            id,
            restart: Restart::Permanent,
            start: Arc::new(start),
        }
    }

    /// Sets the restart policy.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }
}

/// One child as [`SupervisorCall::WhichChildren`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildInfo {
    /// The spec's id.
    pub id: String,
    /// The running instance, if any.
    pub pid: Option<Pid>,
    /// Restarts so far.
    pub restarts: u32,
}

/// Calls a supervisor answers (from any node).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SupervisorCall {
    /// List the children in start order.
    WhichChildren,
}

impl RemoteMessage for SupervisorCall {
    const TAG: &'static str = "shoal.SupervisorCall";
}

/// The children of a supervisor, in start order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Children(pub Vec<ChildInfo>);

impl RemoteMessage for Children {
    const TAG: &'static str = "shoal.Children";
}

/// A supervisor actor. Build it, then spawn it like any actor (or as another supervisor's
/// child). Defaults: at most 3 restarts within 5 seconds.
#[derive(Clone)]
pub struct Supervisor {
    strategy: Strategy,
    max_restarts: usize,
    within: Duration,
    children: Vec<Child>,
    recent: VecDeque<Instant>,
}

#[derive(Clone)]
struct Child {
    spec: ChildSpec,
    pid: Option<Pid>,
    restarts: u32,
}

/// How long a child may take to stop before it is killed.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

impl Supervisor {
    /// A supervisor with `strategy` and no children yet.
    pub fn new(strategy: Strategy) -> Self {
        Self {
            strategy,
            max_restarts: 3,
            within: Duration::from_secs(5),
            children: Vec::new(),
            recent: VecDeque::new(),
        }
    }

    /// Allows at most `max_restarts` restarts within `within`; one more stops the supervisor
    /// with `MaxRestarts`.
    pub fn intensity(mut self, max_restarts: usize, within: Duration) -> Self {
        self.max_restarts = max_restarts;
        self.within = within;
        self
    }

    /// Adds a child; children start in the order added.
    pub fn child(mut self, spec: ChildSpec) -> Self {
        self.children.push(Child {
            spec,
            pid: None,
            restarts: 0,
        });
        self
    }

    fn start(&mut self, ctx: &Ctx<Self>, index: usize) {
        let child = &mut self.children[index];
        child.pid = Some((child.spec.start)(ctx, child.restarts));
    }

    /// Whether one more restart now stays within the intensity.
    fn allow_restart(&mut self, now: Instant) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.within)
        {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        self.recent.len() <= self.max_restarts
    }

    /// Stops children `range` in reverse start order, waiting for each to finish.
    async fn stop_children(&mut self, ctx: &Ctx<Self>, range: std::ops::Range<usize>) {
        for index in range.rev() {
            if let Some(pid) = self.children[index].pid.take() {
                stop_child(ctx, &pid).await;
            }
        }
    }

    async fn on_exit(&mut self, ctx: &mut Ctx<Self>, from: Pid, reason: ExitReason) {
        if ctx.cell().meta.parent.as_ref() == Some(&from) {
            ctx.stop(reason);
            return;
        }
        let Some(index) = self.children.iter().position(|c| c.pid.as_ref() == Some(&from)) else {
            return; // a child we stopped ourselves, or not ours
        };
        self.children[index].pid = None;
        let restart = match self.children[index].spec.restart {
            Restart::Permanent => true,
            Restart::Transient => !reason.is_normal(),
            Restart::Temporary => false,
        };
        if !restart {
            return;
        }
        if !self.allow_restart(Instant::now()) {
            tracing::warn!(supervisor = %ctx.pid(), child = %self.children[index].spec.id, %reason,
                "restart intensity exceeded ({} in {:?}); stopping", self.max_restarts, self.within);
            ctx.stop(ExitReason::MaxRestarts);
            return;
        }
        tracing::info!(supervisor = %ctx.pid(), child = %self.children[index].spec.id, %reason, "restarting");
        let detail = format!(
            "{} restarts {} after: {reason}",
            ctx.pid(),
            self.children[index].spec.id
        );
        let child = self.children[index].spec.id.clone();
        ctx.actors()
            .history()
            .record(EventKind::Restart, child, None, detail);
        let restart_from = match self.strategy {
            Strategy::OneForOne => index,
            Strategy::OneForAll => 0,
            Strategy::RestForOne => index,
        };
        let end = match self.strategy {
            Strategy::OneForOne => index + 1,
            Strategy::OneForAll | Strategy::RestForOne => self.children.len(),
        };
        self.stop_children(ctx, restart_from..end).await;
        for i in restart_from..end {
            // Temporary children are not restarted with their siblings.
            if i != index && self.children[i].spec.restart == Restart::Temporary {
                continue;
            }
            self.children[i].restarts += 1;
            self.start(ctx, i);
        }
    }
}

/// Asks a child to stop with `Shutdown` and waits; kills it after [`SHUTDOWN_TIMEOUT`].
async fn stop_child(ctx: &Ctx<Supervisor>, pid: &Pid) {
    let actors = ctx.actors();
    let down = actors.monitor(pid);
    ctx.unlink(pid);
    if actors.stop(pid, ExitReason::Shutdown).is_err() {
        return;
    }
    let mut down = std::pin::pin!(down);
    if tokio::time::timeout(SHUTDOWN_TIMEOUT, &mut down).await.is_err() {
        let _ = actors.kill(pid);
        let _ = tokio::time::timeout(Duration::from_secs(1), down).await;
    }
}

impl Actor for Supervisor {
    type Msg = Never;
    type Call = SupervisorCall;
    type Reply = Children;

    async fn started(&mut self, ctx: &mut Ctx<Self>) -> Result<(), ActorError> {
        ctx.trap_exits(true);
        for index in 0..self.children.len() {
            self.start(ctx, index);
        }
        Ok(())
    }

    async fn handle(&mut self, _ctx: &mut Ctx<Self>, msg: Never) -> Result<(), ActorError> {
        match msg {}
    }

    async fn handle_call(
        &mut self,
        _ctx: &mut Ctx<Self>,
        call: SupervisorCall,
    ) -> Result<Children, ActorError> {
        match call {
            SupervisorCall::WhichChildren => Ok(Children(
                self.children
                    .iter()
                    .map(|c| ChildInfo {
                        id: c.spec.id.clone(),
                        pid: c.pid.clone(),
                        restarts: c.restarts,
                    })
                    .collect(),
            )),
        }
    }

    async fn handle_signal(&mut self, ctx: &mut Ctx<Self>, signal: Signal) -> Result<(), ActorError> {
        if let Signal::Exit { from, reason } = signal {
            self.on_exit(ctx, from, reason).await;
        }
        Ok(())
    }

    async fn stopping(&mut self, ctx: &mut Ctx<Self>, _reason: &ExitReason) {
        let all = 0..self.children.len();
        self.stop_children(ctx, all).await;
    }

    fn codec() -> Option<Codec<Self>> {
        Some(Codec::serde())
    }
}

/// The factory name of a supervisor of [`super::Echo`] children, registered on every node
/// for diagnostics and tests across processes; its arguments are [`EchoSupervisorArgs`].
pub const ECHO_SUPERVISOR_FACTORY: &str = "shoal.echo_supervisor";

/// Arguments of [`ECHO_SUPERVISOR_FACTORY`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EchoSupervisorArgs {
    /// Restart strategy.
    pub strategy: Strategy,
    /// Number of permanent echo children, named `echo-0`, `echo-1`, ...
    pub children: u32,
    /// Restart intensity: at most this many restarts ...
    pub max_restarts: u32,
    /// ... within this many milliseconds.
    pub within_ms: u64,
}

impl EchoSupervisorArgs {
    /// Builds the supervisor these arguments describe.
    pub fn build(&self) -> Supervisor {
        let within = Duration::from_millis(self.within_ms);
        (0..self.children).fold(
            Supervisor::new(self.strategy).intensity(self.max_restarts as usize, within),
            |sup, i| sup.child(ChildSpec::new(format!("echo-{i}"), super::Echo::default)),
        )
    }
}
