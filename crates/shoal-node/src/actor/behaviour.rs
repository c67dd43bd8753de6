//! [`Actor`]: the trait an actor implements (its handlers and optional hooks).

use std::future::Future;

use super::{ActorError, Codec, Ctx, ExitReason, JsonCodec, Signal};

/// An actor: state plus handlers that run one message at a time.
///
/// A handler that returns an error, or panics, stops the actor with reason
/// [`ExitReason::Error`] or [`ExitReason::Panic`]; its monitors, links and supervisor see that.
/// Application-level failures a caller should handle belong in `Reply` instead.
pub trait Actor: Sized + Send + 'static {
    /// One-way messages.
    type Msg: Send + 'static;
    /// Requests answered with a `Reply` (use [`Never`] when the actor takes no calls).
    type Call: Send + 'static;
    /// Answers to calls.
    type Reply: Send + 'static;

    /// Runs once before the first message. An error stops the actor.
    fn started(&mut self, ctx: &mut Ctx<Self>) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Handles one message.
    fn handle(
        &mut self,
        ctx: &mut Ctx<Self>,
        msg: Self::Msg,
    ) -> impl Future<Output = Result<(), ActorError>> + Send;

    /// Answers one call. The default refuses, stopping the actor: give actors that take calls
    /// their own handler.
    fn handle_call(
        &mut self,
        ctx: &mut Ctx<Self>,
        call: Self::Call,
    ) -> impl Future<Output = Result<Self::Reply, ActorError>> + Send {
        let _ = (ctx, call);
        async { Err(ActorError::new("this actor takes no calls")) }
    }

    /// A system signal: a monitor's `Down`, or a linked actor's exit while trapping exits.
    /// The default ignores it.
    fn handle_signal(
        &mut self,
        ctx: &mut Ctx<Self>,
        signal: Signal,
    ) -> impl Future<Output = Result<(), ActorError>> + Send {
        let _ = (ctx, signal);
        async { Ok(()) }
    }

    /// Runs once when the actor stops for any reason but `Killed`.
    fn stopping(&mut self, ctx: &mut Ctx<Self>, reason: &ExitReason) -> impl Future<Output = ()> + Send {
        let _ = (ctx, reason);
        async {}
    }

    /// A readable view of the state, for operators and tests: what
    /// [`Actors::state_view`](super::Actors::state_view) and `GET /api/actors/{pid}/state` show, like Erlang's
    /// `:sys.get_state`. It runs on the actor's own task, between two messages (a signal),
    /// so it sees the state as no handler is changing it. `None`, the default, means the actor
    /// does not expose its state. Keep it cheap: the actor handles nothing while it runs.
    fn state_view(&self) -> Option<serde_json::Value> {
        None
    }

    /// How peers on other nodes encode this actor's messages. `None` (the default) keeps the
    /// actor local; return `Some(Codec::serde())` to accept remote sends and calls.
    fn codec() -> Option<Codec<Self>> {
        None
    }

    /// How operators write this actor's messages as JSON: what [`Actors::send_json`](super::Actors::send_json),
    /// [`Actors::call_json`](super::Actors::call_json), `POST /api/actors/{pid}/send|call`, `shoal send` and
    /// `shoal call` accept. `None` (the default) refuses them; return
    /// `Some(JsonCodec::serde())` to opt in. JSON that does not decode as `Msg` (or `Call`)
    /// is refused with serde's message and never reaches the actor.
    fn json() -> Option<JsonCodec<Self>> {
        None
    }
}
