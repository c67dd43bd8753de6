//! The task that runs one actor: `started`, then signals before messages, one at a time,
//! then `stopping`; every hook guarded so an error or panic becomes an exit reason.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::task::Poll;

use futures_util::FutureExt;
use tokio::sync::mpsc;

use super::behaviour::Ctx;
use super::behaviour::Mail;
use super::cell::{Cell, SysSignal};
use super::envelope::{Envelope, Responder};
use super::mailbox::MailboxReceiver;
use super::status::ActorStatus;
use super::{Actor, ActorError, ExitReason, Signal};

/// Runs `actor` until it stops, then records its exit.
pub(crate) async fn run_actor<A: Actor>(
    mut actor: A,
    mut ctx: Ctx<A>,
    mut mailbox: MailboxReceiver<Mail<A>>,
    mut signals: mpsc::UnboundedReceiver<SysSignal>,
) {
    let cell = ctx.cell().clone();
    let started = halting(&cell, guarded(actor.started(&mut ctx))).await;
    let reason = match started {
        Err(reason) => reason,
        Ok(()) => match ctx.stop.take() {
            Some(reason) => reason,
            None => serve(&mut actor, &mut ctx, &mut mailbox, &mut signals).await,
        },
    };
    // An actor whose fence lapsed must not act any more, its last hook included.
    if !matches!(reason, ExitReason::Killed | ExitReason::Panic(_)) && cell.admits() {
        cell.set_status(ActorStatus::Stopping);
        let stopping = AssertUnwindSafe(actor.stopping(&mut ctx, &reason)).catch_unwind();
        let _ = stopping.await;
    }
    let actors = ctx.actors().clone();
    actors.exited(&cell, &reason);
    // Calls still queued learn that the actor stopped.
    for envelope in mailbox.close() {
        if let Envelope::Call(_, responder) = envelope {
            responder.respond(Err(reason.clone()));
        }
    }
}

/// Mailbox messages handled between two checks of the halt signal.
const BATCH: usize = 64;

/// Handles signals and messages until a stop; returns why.
async fn serve<A: Actor>(
    actor: &mut A,
    ctx: &mut Ctx<A>,
    mailbox: &mut MailboxReceiver<Mail<A>>,
    signals: &mut mpsc::UnboundedReceiver<SysSignal>,
) -> ExitReason {
    let cell = ctx.cell().clone();
    cell.set_status(ActorStatus::Waiting);
    loop {
        // `halt` is polled last: while messages wait, polling it would cost a lock each, so
        // `handle_batch` checks it every `BATCH` messages instead.
        let stop = tokio::select! {
            biased;
            Some(signal) = signals.recv() => {
                if !cell.admits() {
                    return cell.halt_reason();
                }
                cell.set_status(ActorStatus::Running);
                halting(&cell, on_signal(actor, ctx, signal)).await
            }
            () = mailbox.ready() => {
                cell.set_status(ActorStatus::Running);
                handle_batch(actor, ctx, mailbox, signals).await
            }
            () = cell.halt.cancelled() => Some(cell.halt_reason()),
        };
        if let Some(reason) = stop.or_else(|| ctx.stop.take()) {
            return reason;
        }
        cell.set_status(ActorStatus::Waiting);
    }
}

/// Handles up to `BATCH` taken mailbox messages in order, then checks the halt signal, so a
/// kill reaches an actor whose mailbox never empties. Signals that arrive meanwhile still go
/// first: they are handled between two messages. On a stop, the messages left are answered
/// at exit, with the mailbox's.
async fn handle_batch<A: Actor>(
    actor: &mut A,
    ctx: &mut Ctx<A>,
    mailbox: &mut MailboxReceiver<Mail<A>>,
    signals: &mut mpsc::UnboundedReceiver<SysSignal>,
) -> Option<ExitReason> {
    let cell = ctx.cell().clone();
    for _ in 0..BATCH {
        if !cell.admits() {
            return Some(cell.halt_reason());
        }
        // The batch used up: back to `serve`, which takes the next or waits.
        let envelope = mailbox.next()?;
        let mut stop = match envelope {
            Envelope::Msg(msg) => halting(&cell, guarded(actor.handle(ctx, msg))).await.err(),
            // Boxed: a call's future is large, and every send would otherwise be moved
            // through a future with room for it.
            Envelope::Call(call, responder) => {
                Box::pin(halting(&cell, on_call(actor, ctx, call, responder))).await
            }
        };
        cell.count_handled();
        if cell.take_signal_waiting() {
            while stop.is_none()
                && ctx.stop.is_none()
                && let Ok(signal) = signals.try_recv()
            {
                stop = halting(&cell, on_signal(actor, ctx, signal)).await;
            }
        }
        if stop.is_some() || ctx.stop.is_some() {
            return stop;
        }
    }
    cell.halt.is_cancelled().then(|| cell.halt_reason())
}

async fn on_signal<A: Actor>(actor: &mut A, ctx: &mut Ctx<A>, signal: SysSignal) -> Option<ExitReason> {
    let signal = match signal {
        SysSignal::Stop(reason) => return Some(reason),
        SysSignal::Exit { from, reason } if ctx.trap_exits => Signal::Exit { from, reason },
        SysSignal::Exit { reason, .. } => return (reason != ExitReason::Normal).then_some(reason),
        SysSignal::Down { monitor, pid, reason } => Signal::Down { monitor, pid, reason },
        SysSignal::NameConflict { name, winner } => Signal::NameConflict { name, winner },
        SysSignal::ReadState { reply } => {
            // A panicking view shows nothing; the actor goes on.
            let view = std::panic::catch_unwind(AssertUnwindSafe(|| actor.state_view())).unwrap_or(None);
            let _ = reply.send(view);
            return None;
        }
        SysSignal::HandOff { extract, reply } => {
            // A panic while serialising hands over no state; the actor stops either way.
            let state = std::panic::catch_unwind(AssertUnwindSafe(|| extract.run(actor))).unwrap_or(None);
            let _ = reply.send(state);
            return Some(ExitReason::Shutdown);
        }
    };
    guarded(actor.handle_signal(ctx, signal)).await.err()
}

async fn on_call<A: Actor>(
    actor: &mut A,
    ctx: &mut Ctx<A>,
    call: A::Call,
    responder: Responder<A::Reply>,
) -> Option<ExitReason> {
    match guarded(actor.handle_call(ctx, call)).await {
        Ok(reply) => {
            responder.respond(Ok(reply));
            None
        }
        Err(reason) => {
            responder.respond(Err(reason.clone()));
            Some(reason)
        }
    }
}

/// Runs `work` unless the actor is halted first (a kill, or the node stopping), in which
/// case `work` is dropped mid-way and the halt reason is the result.
async fn halting<T: HaltResult>(cell: &Cell, work: impl Future<Output = T>) -> T {
    let mut work = std::pin::pin!(work);
    // Most handlers finish in one poll: only a handler that waits races the halt signal.
    if let Poll::Ready(result) = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await {
        return result;
    }
    tokio::select! {
        biased;
        result = &mut work => result,
        () = cell.halt.cancelled() => T::halted(cell.halt_reason()),
    }
}

/// A hook's result that a halt can stand in for.
trait HaltResult {
    fn halted(reason: ExitReason) -> Self;
}

impl HaltResult for Option<ExitReason> {
    fn halted(reason: ExitReason) -> Self {
        Some(reason)
    }
}

impl HaltResult for Result<(), ExitReason> {
    fn halted(reason: ExitReason) -> Self {
        Err(reason)
    }
}

/// Runs a hook, turning an error or a panic into the exit reason it causes.
async fn guarded<T>(hook: impl Future<Output = Result<T, ActorError>>) -> Result<T, ExitReason> {
    match AssertUnwindSafe(hook).catch_unwind().await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(ExitReason::Error(e.message().to_owned())),
        Err(panic) => Err(ExitReason::Panic(panic_message(panic.as_ref()))),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-text panic payload".to_owned()
    }
}
